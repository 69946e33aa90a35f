// x / y rounded to the nearest f32, ties to even: IEEE 754's division, which WGSL's `/` does not
// promise (2.5 ULP). The significands are divided bit by bit in integers. For finite x and
// positive finite y whose quotient is a normal f32 or rounds to zero (a quotient below the
// normal range comes back as ldexp rounds it, or flushed).

struct Unpacked {
  /** The significand with its leading bit at 2^23 (a subnormal normalised). */
  m: u32,
  /** The exponent: the value is m * 2^(e - 23). */
  e: i32,
}

fn unpack_abs(bits: u32) -> Unpacked {
  let a = bits & 0x7fffffffu;
  let field = a >> 23u;
  if (field == 0u) {
    let shift = countLeadingZeros(a) - 8u;
    return Unpacked(a << shift, -126 - i32(shift));
  }
  return Unpacked((a & 0x7fffffu) | 0x800000u, i32(field) - 127);
}

fn div_rn(x: f32, y: f32) -> f32 {
  let bx = bitcast<u32>(x);
  if ((bx & 0x7fffffffu) == 0u) { return x; }
  let nx = unpack_abs(bx);
  let ny = unpack_abs(bitcast<u32>(y));
  // q = floor(mx / my * 2^25): 26 bits where mx >= my, 25 where mx < my; r != 0 past the last.
  var r = nx.m;
  var q = 0u;
  for (var i = 0u; i < 26u; i++) {
    q = q << 1u;
    if (r >= ny.m) {
      r = r - ny.m;
      q = q | 1u;
    }
    r = r << 1u;
  }
  let wide = q >= 0x2000000u;
  let drop = select(1u, 2u, wide);
  var sig = q >> drop;
  let guard = (q >> (drop - 1u)) & 1u;
  let sticky = (q & ((1u << (drop - 1u)) - 1u)) != 0u || r != 0u;
  if (guard == 1u && (sticky || (sig & 1u) == 1u)) { sig = sig + 1u; }
  let e = nx.e - ny.e - select(24, 23, wide);
  let v = ldexp(f32(sig), e);
  return select(v, -v, (bx >> 31u) == 1u);
}
