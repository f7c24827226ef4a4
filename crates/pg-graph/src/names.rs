//! Names derived from configuration: the AGE graph of a workspace, and the
//! escaping of user text inside `LIKE` patterns.

use lightrag_pg_core::{Error, Namespace, Workspace};
use lightrag_pg_pool::ident::MAX_IDENT_BYTES;

/// LightRAG's `sub()`: every character outside `[A-Za-z0-9_]` becomes `_`.
fn sub(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

/// The AGE graph LightRAG 1.5.7 opens for a workspace (spec §9.1): its
/// `_get_workspace_graph_name()` gives `<ws>_chunk_entity_relation`, or
/// `chunk_entity_relation` for the default workspace (`default`, any case),
/// where every character of the workspace outside `[A-Za-z0-9_]` becomes `_`;
/// PostgreSQL then cuts the name to 63 bytes (`create_graph('<name>')` casts it
/// to `name`, and LightRAG compares with `left($1, 63)`). Case is preserved
/// (`Team-A` → `Team_A_chunk_entity_relation`); this crate always quotes the
/// name, so capitals work, unlike in LightRAG's raw-SQL paths.
///
/// The mapping is lossy, exactly as in LightRAG: `研究` and `日本` both map to
/// `___chunk_entity_relation`, and two workspaces of more than 41 characters
/// that agree on their first 41 map to one graph. That is kept so that the
/// graph Python created is the one opened here; [`is_lossy`] tells when it
/// applies.
///
/// A workspace that starts with a digit gets LightRAG's name too (its graph
/// opens when it exists, e.g. made by an older AGE), but AGE 1.5 cannot create
/// it: see [`check_creatable`].
pub fn age_graph_name(ws: &Workspace) -> String {
    let trimmed = ws.as_str().trim();
    let mut name = if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(Workspace::DEFAULT) {
        sub(Namespace::GRAPH)
    } else {
        format!("{}_{}", sub(trimmed), sub(Namespace::GRAPH))
    };
    // `sub` leaves only ASCII, so a byte cut is a character cut.
    name.truncate(MAX_IDENT_BYTES);
    name
}

/// Refuses a graph `name` (of workspace `ws`) that AGE cannot create: AGE 1.5's
/// `create_graph` refuses a name that starts with a digit ("graph name is
/// invalid"; a letter or `_` must come first), which LightRAG 1.5.7 meets as a
/// failed start-up. Called only when the graph does not exist yet.
///
/// # Errors
/// [`Error::Config`] (key `POSTGRES_WORKSPACE`) naming the workspace and the
/// graph, for a name AGE refuses.
pub fn check_creatable(ws: &Workspace, name: &str) -> Result<(), Error> {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Error::config(
            "POSTGRES_WORKSPACE",
            format!(
                "workspace '{ws}' gives the AGE graph name '{name}' (as in LightRAG), which starts with a digit: \
                 no such graph exists, and AGE cannot create one (a graph name must start with a letter or '_'). \
                 Rename the workspace, or use the table graph engine"
            ),
        ));
    }
    Ok(())
}

/// Whether [`age_graph_name`] had to replace characters of the workspace or
/// cut the name at 63 bytes, so that other workspaces may map to the same
/// graph.
pub fn is_lossy(ws: &Workspace) -> bool {
    let trimmed = ws.as_str().trim();
    let safe = sub(trimmed);
    safe != trimmed || safe.len() + 1 + Namespace::GRAPH.len() > MAX_IDENT_BYTES
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

    /// Expectations computed by LightRAG 1.5.7 itself: for each workspace,
    /// `PGGraphStorage._get_workspace_graph_name()` from the `lightrag-hku==1.5.7`
    /// wheel (lightrag/kg/postgres_impl.py, namespace `chunk_entity_relation`),
    /// cut to 63 bytes as PostgreSQL stores it (a run of Python 1.5.7 against
    /// AGE 1.5 with a 70-character workspace created the graph `l` × 63):
    ///
    /// ```python
    /// name = PGGraphStorage._get_workspace_graph_name(
    ///     SimpleNamespace(workspace=ws, namespace=NameSpace.GRAPH_STORE_CHUNK_ENTITY_RELATION))
    /// stored = name.encode()[:63].decode()
    /// ```
    #[test]
    fn graph_names_are_the_ones_lightrag_1_5_7_derives_and_postgresql_stores() {
        let cases: [(&str, &str); 23] = [
            ("default", "chunk_entity_relation"),
            ("DEFAULT", "chunk_entity_relation"),
            ("Default", "chunk_entity_relation"),
            ("demo_ws", "demo_ws_chunk_entity_relation"),
            ("Team-A", "Team_A_chunk_entity_relation"),
            ("a.b-c d", "a_b_c_d_chunk_entity_relation"),
            ("ws.v2", "ws_v2_chunk_entity_relation"),
            ("研究", "___chunk_entity_relation"),
            ("日本", "___chunk_entity_relation"),
            ("naïve-ws", "na_ve_ws_chunk_entity_relation"),
            ("🙂ws", "_ws_chunk_entity_relation"),
            ("e\u{301}x", "e_x_chunk_entity_relation"),
            ("default-ws", "default_ws_chunk_entity_relation"),
            ("1team", "1team_chunk_entity_relation"),
            ("9", "9_chunk_entity_relation"),
            ("_1team", "_1team_chunk_entity_relation"),
            (&"w".repeat(41), "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww_chunk_entity_relation"),
            (&"w".repeat(42), "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww_chunk_entity_relatio"),
            (&"x".repeat(70), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            (&"a".repeat(255), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            (&"研".repeat(100), "_______________________________________________________________"),
            (&format!("1{}", "x".repeat(80)), "1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            (&format!("{}-tail", "T".repeat(60)), "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT_ta"),
        ];
        for (workspace, python) in cases {
            assert_eq!(age_graph_name(&ws(workspace)), python, "workspace {workspace:?}");
        }
    }

    #[test]
    fn replaced_characters_and_cut_names_are_lossy() {
        for lossy in ["Team-A", "研究", &"w".repeat(42)] {
            assert!(is_lossy(&ws(lossy)), "{lossy}");
        }
        for exact in ["demo_ws", "default", &"w".repeat(41)] {
            assert!(!is_lossy(&ws(exact)), "{exact}");
        }
    }

    #[test]
    fn only_a_digit_led_graph_name_is_one_age_cannot_create() {
        let w = ws("1team");
        let e = check_creatable(&w, &age_graph_name(&w)).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e}");
        assert!(e.to_string().contains("1team_chunk_entity_relation") && e.to_string().contains("digit"), "{e}");
        for ok in ["_1team", "Team-A", "研究", &"x".repeat(70)] {
            let w = ws(ok);
            assert!(check_creatable(&w, &age_graph_name(&w)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
