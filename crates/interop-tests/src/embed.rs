//! The hashing embedder of `interop/offline.py`, ported: a bag of lower-cased
//! words, signed feature hashing on MD5, L2-normalised. Rust-written records get
//! vectors of the same kind as the Python-written ones, so the hybrid workspace
//! stays searchable from both sides.

use lightrag_pg_core::ids::md5_hex;

/// Embeds `text` into `dim` components (`offline.embed_text`).
pub fn embed_text(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0.0f64; dim.max(1)];
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()) {
        let hex = md5_hex(word);
        let mut bytes = [0u8; 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        let h = u64::from_le_bytes(bytes);
        let slot = (h % v.len() as u64) as usize;
        v[slot] += if (h >> 40) & 1 == 1 { 1.0 } else { -1.0 };
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let norm = if norm == 0.0 { 1.0 } else { norm };
    v.into_iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_is_unit_length_and_deterministic() {
        let a = embed_text("Alice met Bob in Berlin", 64);
        let b = embed_text("alice MET bob in berlin", 64);
        assert_eq!(a, b);
        let n: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((n - 1.0).abs() < 1e-5, "norm {n}");
    }

    #[test]
    fn embedding_matches_the_python_embedder() {
        // offline.embed_text("Alice met Bob in Berlin", 8), rounded to 6 places.
        let want = [0.0, 0.0, 0.0, -0.57735, 0.57735, 0.0, 0.0, 0.57735];
        let got = embed_text("Alice met Bob in Berlin", 8);
        for (g, w) in got.iter().zip(want) {
            assert!((f64::from(*g) - w).abs() < 1e-5, "{got:?}");
        }
    }

    #[test]
    fn empty_text_is_the_zero_vector() {
        assert!(embed_text("", 8).iter().all(|x| *x == 0.0));
    }
}
