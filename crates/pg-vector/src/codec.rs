//! pgvector's binary wire format for `vector` and `halfvec`, without copies.
//!
//! [`VecParam`] borrows an `f32` slice and encodes it as whichever of the two
//! types the server asks for (so one code path writes both column kinds, in
//! parameters and in binary COPY); [`PgVec`] decodes either into `f32`s.
//!
//! Layout (pgvector `vector_send`/`halfvec_send`): `u16` dimensions, `u16`
//! unused, then each component big-endian as `f32` or IEEE half.

use std::error::Error as StdError;

use bytes::{Buf, BufMut, BytesMut};
use half::f16;
use postgres_types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxError = Box<dyn StdError + Sync + Send>;

/// The largest magnitude a `halfvec` component can hold.
pub const HALF_MAX: f32 = 65_504.0;

/// A borrowed vector bound as `vector` or `halfvec`.
#[derive(Debug, Clone, Copy)]
pub struct VecParam<'a>(pub &'a [f32]);

impl ToSql for VecParam<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let dim =
            u16::try_from(self.0.len()).map_err(|_| format!("{} dimensions do not fit pgvector", self.0.len()))?;
        let half = ty.name() == "halfvec";
        out.reserve(4 + self.0.len() * if half { 2 } else { 4 });
        out.put_u16(dim);
        out.put_u16(0);
        if half {
            for x in self.0 {
                out.put_u16(f16::from_f32(*x).to_bits());
            }
        } else {
            for x in self.0 {
                out.put_f32(*x);
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.name(), "vector" | "halfvec")
    }

    to_sql_checked!();
}

/// A `vector` or `halfvec` read back as `f32`s.
#[derive(Debug, Clone, PartialEq)]
pub struct PgVec(pub Vec<f32>);

impl<'a> FromSql<'a> for PgVec {
    fn from_sql(ty: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
        if raw.len() < 4 {
            return Err("truncated pgvector value".into());
        }
        let dim = usize::from(raw.get_u16());
        raw.advance(2);
        let half = ty.name() == "halfvec";
        let width = if half { 2 } else { 4 };
        if raw.len() != dim * width {
            return Err(format!("pgvector value announces {dim} dimensions but carries {} bytes", raw.len()).into());
        }
        let v = if half {
            (0..dim).map(|_| f16::from_bits(raw.get_u16()).to_f32()).collect()
        } else {
            (0..dim).map(|_| raw.get_f32()).collect()
        };
        Ok(Self(v))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.name(), "vector" | "halfvec")
    }
}

#[cfg(test)]
mod tests {
    use postgres_types::Kind;

    use super::*;

    fn ty(name: &str) -> Type {
        Type::new(name.into(), 90_000, Kind::Simple, "public".into())
    }

    #[test]
    fn vector_round_trips_through_pgvectors_own_decoder() {
        let data = [1.5_f32, -2.25, 0.0, 3.0e-8];
        let mut buf = BytesMut::new();
        VecParam(&data).to_sql(&ty("vector"), &mut buf).unwrap();
        let theirs = pgvector::Vector::from_sql(&ty("vector"), &buf).unwrap();
        assert_eq!(theirs.as_slice(), &data);
        assert_eq!(PgVec::from_sql(&ty("vector"), &buf).unwrap().0, data);
    }

    #[test]
    fn halfvec_round_trips_within_half_precision() {
        let data = [1.5_f32, -2.25, 0.1, 1000.0];
        let mut buf = BytesMut::new();
        VecParam(&data).to_sql(&ty("halfvec"), &mut buf).unwrap();
        assert_eq!(buf.len(), 4 + 2 * data.len());
        let theirs = pgvector::HalfVector::from_sql(&ty("halfvec"), &buf).unwrap();
        let back = PgVec::from_sql(&ty("halfvec"), &buf).unwrap().0;
        for ((a, b), c) in data.iter().zip(&back).zip(theirs.to_vec()) {
            assert!((a - b).abs() <= a.abs() * 1e-3, "{a} vs {b}");
            assert_eq!(*b, c.to_f32());
        }
    }

    #[test]
    fn truncated_values_are_errors_not_panics() {
        assert!(PgVec::from_sql(&ty("vector"), &[0, 2, 0, 0, 1]).is_err());
        assert!(PgVec::from_sql(&ty("vector"), &[0]).is_err());
    }
}
