//! The demo's embedding endpoint: the hashing embedder that wrote
//! `examples/demo-kb` (`interop/hash_embed.py`: lower-cased words, signed MD5
//! feature hashing, L2-normalised), served as an OpenAI-compatible
//! `POST /v1/embeddings` on 127.0.0.1, so that `lightrag-pg query` can embed a
//! question the way the knowledge base was embedded. Std only, like the rest
//! of xtask.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// MD5 of `data` (RFC 1321).
fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32).collect();
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// `hash_embed.embed_text(text, dim)`.
fn embed(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0.0f64; dim];
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()) {
        let d = md5(word.as_bytes());
        let h = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        v[(h % dim as u64) as usize] += if (h >> 40) & 1 == 1 { 1.0 } else { -1.0 };
    }
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let n = if n == 0.0 { 1.0 } else { n };
    v.iter().map(|x| (x / n) as f32).collect()
}

/// The texts of a request body's `"input": [...]` (JSON strings; the escapes
/// a question can hold).
fn inputs(body: &str) -> Vec<String> {
    let Some(start) = body.find("\"input\"") else { return Vec::new() };
    let mut out = Vec::new();
    let mut chars = body[start + 7..].chars().skip_while(|c| *c != '[').skip(1).peekable();
    loop {
        match chars.next() {
            None | Some(']') => break,
            Some('"') => {
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                s.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or(' '));
                            }
                            Some(other) => s.push(other),
                            None => break,
                        },
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            Some(_) => {}
        }
    }
    out
}

/// Serves the hashing embedder at `dim` dimensions in a background thread;
/// the base URL (`http://127.0.0.1:PORT/v1`).
pub(crate) fn serve(dim: usize) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/v1", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(read_half) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(read_half);
            let mut stream = stream;
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let data: Vec<String> = inputs(&String::from_utf8_lossy(&body))
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let v: Vec<String> = embed(t, dim).iter().map(f32::to_string).collect();
                    format!("{{\"object\":\"embedding\",\"index\":{i},\"embedding\":[{}]}}", v.join(","))
                })
                .collect();
            let out = format!("{{\"object\":\"list\",\"data\":[{}]}}", data.join(","));
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                out.len()
            );
        }
    });
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(hex(md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(hex(md5(&[b'a'; 100])), "36a92cc94a9e0fa21f625f8bfb007adf");
    }

    #[test]
    fn the_embedding_is_unit_length_and_word_based() {
        let v = embed("The Observatory, the observatory!", 64);
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        let w = embed("observatory THE", 64);
        assert!(v.iter().zip(&w).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?} {w:?}");
        assert_eq!(inputs(r#"{"model":"m","input":["a \"b\"","c\\nd"]}"#), ["a \"b\"", "c\\nd"]);
    }
}
