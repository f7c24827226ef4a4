//! Names derived from configuration: the AGE graph of a workspace, and the
//! escaping of user text inside `LIKE` patterns.

use lightrag_pg_core::{Error, Namespace, Workspace};
use lightrag_pg_pool::ident::MAX_IDENT_BYTES;

/// LightRAG's `sub()`: every character outside `[A-Za-z0-9_]` becomes `_`.
fn sub(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// The AGE graph name LightRAG 1.5.7 derives for a workspace (spec §9.1):
/// `<ws>_chunk_entity_relation`, or `chunk_entity_relation` for the default
/// workspace (`default`, any case), where every character of the workspace
/// outside `[A-Za-z0-9_]` becomes `_`. Case is preserved (`Team-A` →
/// `Team_A_chunk_entity_relation`); this crate always quotes the name, so capitals
/// work, unlike in LightRAG's raw-SQL paths.
///
/// The mapping is lossy, exactly as in LightRAG: `研究` and `日本` both map to
/// `___chunk_entity_relation` and so share one graph. That is kept for data
/// compatibility; [`is_lossy`] tells when it applies.
///
/// # Errors
/// [`Error::Config`] (key `POSTGRES_WORKSPACE`) when AGE cannot have a graph of
/// that name: one that starts with a digit (AGE requires a letter or `_`), or is
/// longer than 63 bytes (LightRAG would silently truncate it, so that two
/// workspaces could share a graph). Use a shorter workspace, or the table engine.
pub fn age_graph_name(ws: &Workspace) -> Result<String, Error> {
    let trimmed = ws.as_str().trim();
    let name = if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(Workspace::DEFAULT) {
        sub(Namespace::GRAPH)
    } else {
        format!("{}_{}", sub(trimmed), sub(Namespace::GRAPH))
    };
    if name.len() > MAX_IDENT_BYTES {
        return Err(Error::config(
            "POSTGRES_WORKSPACE",
            format!(
                "workspace '{ws}' gives the AGE graph name '{name}' ({} bytes); AGE and PostgreSQL allow {MAX_IDENT_BYTES}. \
                 Use a workspace of at most {} characters, or the table graph engine",
                name.len(),
                MAX_IDENT_BYTES - Namespace::GRAPH.len() - 1
            ),
        ));
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Error::config(
            "POSTGRES_WORKSPACE",
            format!(
                "workspace '{ws}' gives the AGE graph name '{name}', which starts with a digit; AGE graph names must \
                 start with a letter or '_'. Rename the workspace, or use the table graph engine"
            ),
        ));
    }
    Ok(name)
}

/// Whether [`age_graph_name`] had to replace characters of the workspace, so
/// that other workspaces may map to the same graph.
pub fn is_lossy(ws: &Workspace) -> bool {
    let trimmed = ws.as_str().trim();
    sub(trimmed) != trimmed
}

/// Escapes `\`, `%` and `_` for a `LIKE ... ESCAPE '\'` pattern, so user text
/// matches literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws(s: &str) -> Workspace {
        Workspace::new(s).unwrap()
    }

    #[test]
    fn default_workspace_uses_the_bare_namespace() {
        assert_eq!(age_graph_name(&ws("default")).unwrap(), "chunk_entity_relation");
        assert_eq!(age_graph_name(&ws("DEFAULT")).unwrap(), "chunk_entity_relation");
    }

    #[test]
    fn other_workspaces_are_prefixed_with_case_kept_and_symbols_replaced() {
        assert_eq!(age_graph_name(&ws("demo_ws")).unwrap(), "demo_ws_chunk_entity_relation");
        assert_eq!(age_graph_name(&ws("Team-A")).unwrap(), "Team_A_chunk_entity_relation");
        assert_eq!(age_graph_name(&ws("研究")).unwrap(), "___chunk_entity_relation");
        assert!(is_lossy(&ws("Team-A")));
        assert!(!is_lossy(&ws("demo_ws")));
    }

    #[test]
    fn digit_first_and_overlong_workspaces_are_refused_at_configuration() {
        let e = age_graph_name(&ws("1team")).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
        assert!(e.to_string().contains("digit"));
        let e = age_graph_name(&ws(&"w".repeat(42))).unwrap_err();
        assert!(e.to_string().contains("63"), "{e}");
        assert!(age_graph_name(&ws(&"w".repeat(41))).is_ok());
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
