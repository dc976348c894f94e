/* Element conversions shared by the data-movement and generator ops:
 * IEEE half <-> float/double with round-to-nearest-even, and storing one
 * double as any fixed-size dtype (Pad's float `value`, EyeLike's 1, ...). */
#ifndef ODET_OPS_ELEM_H
#define ODET_OPS_ELEM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "odet/engine.h"

/* half -> float (exact). */
static inline float odet_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, x;
    if (exp == 0x1f) {
        x = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
        float f = (float)mant * 0x1p-24f; /* zero or subnormal: exact */
        memcpy(&x, &f, 4);
        x |= sign;
    } else {
        x = sign | ((exp + 112u) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* float -> half, round to nearest even; overflow -> inf, NaN stays NaN. */
static inline uint16_t odet_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    uint16_t h;
    if (ax >= 0x47800000u) {                 /* >= 65536, inf or NaN */
        h = ax > 0x7f800000u ? (uint16_t)(0x7e00u | ((ax >> 13) & 0x3ffu)) : 0x7c00u;
    } else if (ax < 0x38800000u) {           /* below 2^-14: half subnormal or zero */
        float a, magic = 0.5f;               /* 2^-1: aligns half's ulp 2^-24 to bit 0 */
        memcpy(&a, &ax, 4);
        a += magic;                          /* the FPU rounds to nearest even */
        uint32_t y;
        memcpy(&y, &a, 4);
        h = (uint16_t)(y - 0x3f000000u);
    } else {
        uint32_t odd = (ax >> 13) & 1u;
        ax += 0xc8000fffu + odd;             /* rebias exponent, round half to even */
        h = (uint16_t)(ax >> 13);            /* a carry into the exponent gives inf */
    }
    return (uint16_t)(h | sign);
}

/* double -> half, rounded once (no double rounding through float). */
static inline uint16_t odet_f64_to_f16(double d)
{
    uint16_t sign = signbit(d) ? 0x8000u : 0;
    double a = fabs(d);
    if (isnan(d))
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 65520.0)                        /* rounds to inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x1p-14)                         /* subnormal: count ulps of 2^-24 */
        return (uint16_t)(sign | (uint16_t)nearbyint(a * 0x1p24));
    int e;
    (void)frexp(a, &e);                      /* a = m * 2^e, m in [0.5, 1) */
    e -= 1;                                  /* a = 1.x * 2^e, e in [-14, 15] */
    double m = nearbyint(ldexp(a, 10 - e));  /* [1024, 2048]; 2048 carries */
    return (uint16_t)(sign | (uint16_t)(((unsigned)(e + 15) << 10) + (unsigned)m - 1024u));
}

/* Convert a double to an integer type's range without undefined behaviour:
 * NaN -> 0, out-of-range values saturate. */
static inline int64_t odet_f64_to_i64_sat(double v, double lo, double hi)
{
    if (isnan(v))
        return 0;
    if (v <= lo)
        return (int64_t)lo;
    if (v >= hi)
        return hi >= 0x1p63 ? INT64_MAX : (int64_t)hi;
    return (int64_t)v;
}

static inline uint64_t odet_f64_to_u64_sat(double v)
{
    if (isnan(v) || v <= 0.0)
        return 0;
    if (v >= 0x1p64)
        return UINT64_MAX;
    return (uint64_t)v;
}

/* Store v as element 0 of dst (dtype dt, truncating toward zero for integers).
 * Returns 0, or -1 for a dtype without a fixed size. */
static inline int odet_elem_store_f64(void *dst, odet_dtype dt, double v)
{
#define ODET_STORE_(T, expr) do { T x_ = (T)(expr); memcpy(dst, &x_, sizeof x_); } while (0)
    switch (dt) {
    case ODET_FLOAT: ODET_STORE_(float, v); break;
    case ODET_DOUBLE: ODET_STORE_(double, v); break;
    case ODET_FLOAT16: ODET_STORE_(uint16_t, odet_f64_to_f16(v)); break;
    case ODET_BOOL: ODET_STORE_(uint8_t, v != 0.0); break;
    case ODET_INT8: ODET_STORE_(int8_t, odet_f64_to_i64_sat(v, -128.0, 127.0)); break;
    case ODET_UINT8: ODET_STORE_(uint8_t, odet_f64_to_i64_sat(v, 0.0, 255.0)); break;
    case ODET_INT16: ODET_STORE_(int16_t, odet_f64_to_i64_sat(v, -32768.0, 32767.0)); break;
    case ODET_UINT16: ODET_STORE_(uint16_t, odet_f64_to_i64_sat(v, 0.0, 65535.0)); break;
    case ODET_INT32:
        ODET_STORE_(int32_t, odet_f64_to_i64_sat(v, -2147483648.0, 2147483647.0));
        break;
    case ODET_UINT32: ODET_STORE_(uint32_t, odet_f64_to_i64_sat(v, 0.0, 4294967295.0)); break;
    case ODET_INT64: ODET_STORE_(int64_t, odet_f64_to_i64_sat(v, -0x1p63, 0x1p63)); break;
    case ODET_UINT64: ODET_STORE_(uint64_t, odet_f64_to_u64_sat(v)); break;
    default: return -1;
    }
#undef ODET_STORE_
    return 0;
}

#endif
