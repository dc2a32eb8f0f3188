/*
 * Minimal bare-metal start-up for the QEMU "mps2-an386" board (Cortex-M4F),
 * with semihosting: the program's stdio and file I/O go to the host through
 * newlib's rdimon library, and main() gets the command line that QEMU passes
 * with -semihosting-config ...,arg=prog,arg=file (split at spaces).
 *
 * Reset: enable the FPU (CPACR CP10/CP11), zero .bss, open the semihosting
 * handles, read the command line, call main(argc, argv) and exit() with its
 * return value (QEMU's exit code). Faults spin forever: run QEMU under
 * `timeout`. Link with mps2-an386.ld, -nostartfiles, --specs=nano.specs
 * --specs=rdimon.specs. Part of the tinyml-automl firmware export
 * (firmware/qemu/).
 *
 * kp_qemu_systick_start() / kp_qemu_systick_now() run SysTick from the
 * processor clock with the largest reload value; see kp_qemu.h.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kp_qemu.h"

extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);
extern uint32_t __kp_stack_top, __bss_start__, __bss_end__;

void kp_qemu_reset(void);

#define KP_QEMU_MAX_ARGS 16
#define KP_QEMU_CMDLINE 512

static char kp_qemu_cmdline[KP_QEMU_CMDLINE];
static char *kp_qemu_argv[KP_QEMU_MAX_ARGS + 1];

/* One semihosting call (bkpt 0xAB): operation op, parameter block arg. */
static int kp_qemu_semihost(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_GET_CMDLINE (0x15) split at spaces into kp_qemu_argv; returns argc. */
static int kp_qemu_args(void)
{
    uint32_t block[2];
    int argc = 0;
    char *p;
    block[0] = (uint32_t)(uintptr_t)kp_qemu_cmdline;
    block[1] = (uint32_t)(sizeof kp_qemu_cmdline - 1u);
    if (kp_qemu_semihost(0x15, block) != 0) {
        kp_qemu_cmdline[0] = '\0';
    }
    kp_qemu_cmdline[sizeof kp_qemu_cmdline - 1u] = '\0';
    p = kp_qemu_cmdline;
    while (*p != '\0' && argc < KP_QEMU_MAX_ARGS) {
        while (*p == ' ') {
            *p++ = '\0';
        }
        if (*p == '\0') {
            break;
        }
        kp_qemu_argv[argc++] = p;
        while (*p != '\0' && *p != ' ') {
            ++p;
        }
    }
    kp_qemu_argv[argc] = 0;
    return argc;
}

void kp_qemu_reset(void)
{
    uint32_t *p;
    int argc;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb");
    for (p = &__bss_start__; p < &__bss_end__; ++p) {
        *p = 0u;
    }
    initialise_monitor_handles();
    argc = kp_qemu_args();
    exit(main(argc, kp_qemu_argv));
}

void kp_qemu_systick_start(void)
{
    KP_QEMU_SYST_CSR = 0u;
    KP_QEMU_SYST_RVR = 0x00FFFFFFu;
    KP_QEMU_SYST_CVR = 0u;           /* any write clears the counter */
    KP_QEMU_SYST_CSR = 0x5u;         /* ENABLE | CLKSOURCE = processor clock, no interrupt */
}

static void kp_qemu_hang(void)
{
    for (;;) {
    }
}

typedef void (*kp_qemu_vector)(void);

__attribute__((section(".kp_vectors"), used)) const kp_qemu_vector kp_qemu_vectors[16] = {
    (kp_qemu_vector)(uintptr_t)&__kp_stack_top, /* initial stack pointer */
    kp_qemu_reset, kp_qemu_hang, kp_qemu_hang, kp_qemu_hang, kp_qemu_hang, kp_qemu_hang,
    0, 0, 0, 0, kp_qemu_hang, kp_qemu_hang, 0, kp_qemu_hang, kp_qemu_hang
};
