/* One-time CPU feature probe (CPUID + XCR0) and kernel-table choice.
 * This is the only global mutable state in odet, written once under call_once. */
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define ODET_X86 1
#endif

#include "kernels/kernels.h"
#include "odet/engine.h"

static once_flag probe_once = ONCE_FLAG_INIT;
static odet_isa cpu_best = ODET_ISA_SCALAR; /* best the CPU + OS support */
static odet_isa chosen = ODET_ISA_SCALAR;   /* after the ODET_ISA cap */

#ifdef ODET_X86
static unsigned long long xgetbv0(void)
{
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

static odet_isa probe_cpu(void)
{
#ifdef ODET_X86
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return ODET_ISA_SCALAR;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx)
        return ODET_ISA_SCALAR;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state enabled by the OS */
        return ODET_ISA_SCALAR;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return ODET_ISA_SCALAR;
    int avx2 = (b >> 5) & 1;
    int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512bw = (b >> 30) & 1,
        avx512vl = (b >> 31) & 1;
    odet_isa best = ODET_ISA_SCALAR;
    if (avx2 && fma && f16c)
        best = ODET_ISA_AVX2;
    if (best == ODET_ISA_AVX2 && avx512f && avx512dq && avx512bw && avx512vl &&
        (xcr0 & 0xe0) == 0xe0) /* opmask, ZMM_Hi256, Hi16_ZMM state */
        best = ODET_ISA_AVX512;
    return best;
#else
    return ODET_ISA_SCALAR;
#endif
}

static void probe(void)
{
    cpu_best = probe_cpu();
    chosen = cpu_best;
    const char *cap = getenv("ODET_ISA");
    if (cap) {
        odet_isa want = chosen;
        if (strcmp(cap, "scalar") == 0)
            want = ODET_ISA_SCALAR;
        else if (strcmp(cap, "avx2") == 0)
            want = ODET_ISA_AVX2;
        else if (strcmp(cap, "avx512") == 0)
            want = ODET_ISA_AVX512;
        if (want < chosen)
            chosen = want;
    }
}

static const odet_kernels *table(odet_isa isa)
{
    switch (isa) {
    case ODET_ISA_AVX512: return &odet_kernels_avx512;
    case ODET_ISA_AVX2: return &odet_kernels_avx2;
    default: return &odet_kernels_scalar;
    }
}

const odet_kernels *odet_kernels_get(void)
{
    call_once(&probe_once, probe);
    return table(chosen);
}

const odet_kernels *odet_kernels_for(odet_isa isa)
{
    call_once(&probe_once, probe);
    if (isa < 0 || isa >= ODET_ISA_COUNT || isa > cpu_best)
        return NULL;
    return table(isa);
}

const char *odet_cpu_isa(void)
{
    return odet_kernels_get()->name;
}
