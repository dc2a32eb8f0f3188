/*
 * kp_qemu.h - SysTick cycle counting on the QEMU "mps2-an386" board
 * (firmware/qemu/startup.c; part of the tinyml-automl firmware export).
 *
 * SysTick is a 24-bit down-counter. kp_qemu_systick_start() clocks it from
 * the processor clock, which QEMU's mps2-an386 model runs at
 * KP_QEMU_CPU_HZ = 25 MHz. Under `qemu-system-arm -icount
 * shift=0,align=off,sleep=off` every guest instruction advances the virtual
 * clock by exactly 2^0 = 1 ns, so one SysTick tick is
 * KP_QEMU_INSNS_PER_TICK = 1e9 / 25e6 = 40 instructions, and a tick count is
 * deterministic (the same on every run and every host). Resolution: 40
 * instructions. Without -icount the count follows host time and means nothing.
 *
 *   kp_qemu_systick_start();
 *   t0 = kp_qemu_systick_now();  work();  t1 = kp_qemu_systick_now();
 *   ticks = KP_QEMU_TICKS(t0, t1);      // valid below 2^24 ticks (671M insns)
 */
#ifndef KP_QEMU_H
#define KP_QEMU_H

#include <stdint.h>

#define KP_QEMU_CPU_HZ 25000000u
#define KP_QEMU_INSNS_PER_TICK 40u

#define KP_QEMU_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define KP_QEMU_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define KP_QEMU_SYST_CVR (*(volatile uint32_t *)0xE000E018u)

/* Ticks elapsed from reading t0 to reading t1 (the counter counts down). */
#define KP_QEMU_TICKS(t0, t1) (((t0) - (t1)) & 0x00FFFFFFu)

void kp_qemu_systick_start(void);

static inline uint32_t kp_qemu_systick_now(void)
{
    return KP_QEMU_SYST_CVR;
}

#endif /* KP_QEMU_H */
