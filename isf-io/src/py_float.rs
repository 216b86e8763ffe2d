//! Python's `repr(float)` (= `str(float)`), which ISF uses for every number it writes.
//!
//! Python prints the shortest digit string that reads back to the same double (the same digits
//! `ryu` finds) and lays it out in positional notation when the decimal exponent `e` of the
//! first digit satisfies −4 ≤ e < 16, otherwise as `d.ddde±XX` (at least two exponent digits).
//! Positional notation always has a fractional part (`-75.0`).

/// Python's `repr(x)`: `0.0`, `-75.0`, `1e-05`, `0.0001`, `1e+16`, `1234567890123456.0`,
/// `inf`, `-inf`, `nan`.
pub fn py_repr(x: f64) -> String {
    let mut s = String::with_capacity(24);
    write_py_repr(&mut s, x);
    s
}

/// Appends [`py_repr`]`(x)` to `out` (no allocation when `out` has room).
pub fn write_py_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    let a = x.abs();
    if a.is_infinite() {
        out.push_str("inf");
        return;
    }
    if a == 0.0 {
        out.push_str("0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let (digits, ndigits, decpt) = shortest_digits(buf.format_finite(a));
    let digits = &digits[..ndigits];
    // decpt: the value is 0.d1d2…dn × 10^decpt, so the first digit has exponent decpt − 1.
    if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            for _ in 0..(-decpt) {
                out.push('0');
            }
            push_digits(out, digits);
        } else {
            let d = decpt as usize;
            if d < digits.len() {
                push_digits(out, &digits[..d]);
                out.push('.');
                push_digits(out, &digits[d..]);
            } else {
                push_digits(out, digits);
                for _ in digits.len()..d {
                    out.push('0');
                }
                out.push_str(".0");
            }
        }
    } else {
        push_digits(out, &digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            push_digits(out, &digits[1..]);
        }
        let e = decpt - 1;
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let ea = e.unsigned_abs();
        if ea < 10 {
            out.push('0');
        }
        out.push_str(&ea.to_string());
    }
}

fn push_digits(out: &mut String, digits: &[u8]) {
    out.extend(digits.iter().map(|&d| (b'0' + d) as char));
}

/// Splits ryu's output (`"1.5e-7"`, `"0.0001"`, `"123.0"`, `"1e16"`) into significant digits
/// (without leading/trailing zeros) and the decimal-point position.
fn shortest_digits(s: &str) -> ([u8; 40], usize, i32) {
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int_part, frac_part) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits = [0u8; 40];
    let mut n = 0;
    let mut decpt = int_part.len() as i32 + exp;
    let mut leading = true;
    for b in int_part.bytes().chain(frac_part.bytes()) {
        let d = b.wrapping_sub(b'0');
        if leading && d == 0 {
            decpt -= 1;
            continue;
        }
        leading = false;
        if n < digits.len() {
            digits[n] = d;
            n += 1;
        }
    }
    while n > 1 && digits[n - 1] == 0 {
        n -= 1;
    }
    (digits, n, decpt)
}

#[cfg(test)]
mod tests {
    use super::py_repr;

    #[test]
    fn python_layout() {
        // Expected strings are what CPython 3 prints for these literals.
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-75.0, "-75.0"),
            (1.0, "1.0"),
            (0.025, "0.025"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (0.1 + 0.2, "0.30000000000000004"),
            (344.99999999982316, "344.99999999982316"),
            (3.26e-5, "3.26e-05"),
            (1e100, "1e+100"),
            (1.5e-300, "1.5e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (123.456, "123.456"),
            (-1.25e-7, "-1.25e-07"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_repr(x), want, "py_repr({x:e})");
        }
    }

    /// splitmix64: a tiny deterministic generator for test values.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn matches_cpython_on_random_values() {
        use std::io::Write;
        let mut state = 12345u64;
        let mut values = Vec::new();
        for i in 0..6000u64 {
            let r = next(&mut state);
            let u = (r >> 11) as f64 / (1u64 << 53) as f64;
            let x = match i % 6 {
                // Arbitrary bit patterns (all exponents).
                0 => f64::from_bits(r),
                // Voltages and times as a simulation produces them.
                1 => -100.0 + 150.0 * u,
                2 => u * 1000.0,
                // Around the positional/scientific switch points 1e-4 and 1e16.
                3 => u * 10f64.powi((r % 8) as i32 - 7),
                4 => (1.0 + u) * 10f64.powi(12 + (r % 6) as i32),
                // Short decimals (few significant digits), integers.
                _ => {
                    ((u * 1e6).round() / 10f64.powi((r % 9) as i32))
                        * if r & 1 == 1 { -1.0 } else { 1.0 }
                }
            };
            if x.is_finite() {
                values.push(x);
            }
        }
        values.extend([
            1e-4,
            9.999999999999999e-5,
            1e16,
            9999999999999998.0,
            1e22,
            1e23,
            2.0f64.powi(60),
        ]);
        let input: String = values
            .iter()
            .map(|x| format!("{}\n", x.to_bits()))
            .collect();
        let script = "import struct,sys\nfor l in sys.stdin:\n    print(repr(struct.unpack('<d', struct.pack('<Q', int(l)))[0]))";
        let child = std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("notice: python3 not available; skipping the CPython cross-check of py_repr");
            return;
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let theirs: Vec<&str> = text.lines().collect();
        assert_eq!(theirs.len(), values.len());
        for (x, want) in values.iter().zip(theirs) {
            assert_eq!(py_repr(*x), want, "bits {:#x}", x.to_bits());
        }
    }
}
