//! The one function that validates and quotes SQL identifiers.
//!
//! Values never go into SQL text; identifiers (table names with an embedding-model
//! suffix, AGE graph names, index names) do, and only through [`quote_ident`].

use lightrag_pg_core::Error;

/// PostgreSQL's identifier limit in bytes (`NAMEDATALEN - 1`).
pub const MAX_IDENT_BYTES: usize = 63;

/// Validates an identifier and returns it double-quoted, with embedded quotes
/// doubled. Refused: empty names, names over 63 bytes (PostgreSQL would silently
/// truncate them, which can make two names collide), and NUL bytes.
///
/// # Errors
/// [`Error::InvalidInput`] naming the identifier.
pub fn quote_ident(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::invalid(name, "identifier must not be empty"));
    }
    if name.len() > MAX_IDENT_BYTES {
        return Err(Error::invalid(
            name,
            format!("identifier is {} bytes; PostgreSQL allows {MAX_IDENT_BYTES}", name.len()),
        ));
    }
    if name.contains('\0') {
        return Err(Error::invalid(name, "identifier contains a NUL byte"));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// LightRAG's `_safe_index_name(table, suffix)`: `idx_<table_lower>_<suffix>` when
/// that fits in 63 bytes, else `idx_<first 12 hex of md5(table_lower)>_<suffix>`.
pub fn safe_index_name(table: &str, suffix: &str) -> String {
    let lower = table.to_lowercase();
    let full = format!("idx_{lower}_{suffix}");
    if full.len() <= MAX_IDENT_BYTES {
        full
    } else {
        format!("idx_{}_{suffix}", &lightrag_pg_core::ids::md5_hex(&lower)[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_case_is_kept() {
        assert_eq!(quote_ident("Team-A").unwrap(), "\"Team-A\"");
        assert_eq!(quote_ident("a\"b").unwrap(), "\"a\"\"b\"");
        assert_eq!(quote_ident("研究").unwrap(), "\"研究\"");
    }

    #[test]
    fn empty_overlong_and_nul_names_are_refused() {
        assert!(quote_ident("").is_err());
        assert!(quote_ident(&"x".repeat(64)).is_err());
        assert!(quote_ident(&"x".repeat(63)).is_ok());
        assert!(quote_ident("a\0b").is_err());
    }

    #[test]
    fn index_names_follow_lightrag() {
        assert_eq!(
            safe_index_name("LIGHTRAG_VDB_ENTITY_bge_m3_1024d", "hnsw_cosine"),
            "idx_lightrag_vdb_entity_bge_m3_1024d_hnsw_cosine"
        );
        assert_eq!(
            safe_index_name("LIGHTRAG_VDB_CHUNKS_text_embedding_3_large_3072d", "hnsw_cosine"),
            "idx_1645fa932b57_hnsw_cosine"
        );
        assert_eq!(
            safe_index_name("LIGHTRAG_VDB_CHUNKS_text_embedding_3_large_3072d", "id"),
            "idx_lightrag_vdb_chunks_text_embedding_3_large_3072d_id"
        );
    }
}
