//! The one table of each namespace's payload columns — those between `id` and
//! `content_vector` in LightRAG's DDL — in table order, with their kind and the
//! value each takes from a record. It drives the SQL text ([`crate::sql`]), the
//! binary COPY types and the row parameters ([`crate::write`]), the read
//! projection, the legacy copy and the row moves between tables.
//!
//! Order: the staging table's and the merge's (not the DDL's, which differs
//! per namespace; rows are always moved by column name).
//!
//! | namespace | payload columns |
//! |---|---|
//! | chunks | `tokens`, `chunk_order_index`, `full_doc_id`, `content`, `file_path` |
//! | entities | `entity_name`, `content`, `chunk_ids`, `file_path` |
//! | relationships | `source_id`, `target_id`, `content`, `chunk_ids`, `file_path` |

use bytes::BytesMut;
use lightrag_pg_core::VectorNamespace;
use lightrag_pg_core::ids::GRAPH_FIELD_SEP;
use postgres_types::{IsNull, ToSql, Type};

use crate::record::RowData;

type BoxError = Box<dyn std::error::Error + Sync + Send>;

/// What a payload column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `INTEGER`.
    Int,
    /// `VARCHAR(n)` (lengths are checked by [`crate::record`]).
    Varchar,
    /// `TEXT`.
    Text,
    /// `VARCHAR(255)[]`: the chunk ids.
    ChunkIds,
}

impl Kind {
    /// The column's type in the session-local staging table.
    pub(crate) fn stage_sql(self) -> &'static str {
        match self {
            Self::Int => "int4",
            Self::Varchar | Self::Text => "text",
            Self::ChunkIds => "text[]",
        }
    }

    /// The binary COPY type of the staging table's column.
    fn stage_type(self) -> Type {
        match self {
            Self::Int => Type::INT4,
            Self::Varchar | Self::Text => Type::TEXT,
            Self::ChunkIds => Type::TEXT_ARRAY,
        }
    }

    /// The binary COPY type of LightRAG's own column (an array's element type
    /// must match exactly, so `VARCHAR` columns take `varchar`).
    fn table_type(self) -> Type {
        match self {
            Self::Int => Type::INT4,
            Self::Varchar => Type::VARCHAR,
            Self::Text => Type::TEXT,
            Self::ChunkIds => Type::VARCHAR_ARRAY,
        }
    }
}

/// One payload column.
pub(crate) struct Column {
    /// Its name in LightRAG's table.
    pub(crate) name: &'static str,
    /// What it holds.
    pub(crate) kind: Kind,
    /// Its value for a record.
    pub(crate) get: for<'r, 'a> fn(&'r RowData<'a>) -> Value<'r>,
}

const CHUNKS: &[Column] = &[
    Column { name: "tokens", kind: Kind::Int, get: |r| Value::Int(r.tokens) },
    Column { name: "chunk_order_index", kind: Kind::Int, get: |r| Value::Int(r.chunk_order_index) },
    Column { name: "full_doc_id", kind: Kind::Varchar, get: |r| Value::Text(r.full_doc_id) },
    Column { name: "content", kind: Kind::Text, get: |r| Value::Text(r.content) },
    Column { name: "file_path", kind: Kind::Text, get: |r| Value::Text(r.file_path) },
];

const ENTITIES: &[Column] = &[
    Column { name: "entity_name", kind: Kind::Varchar, get: |r| Value::Text(r.entity_name) },
    Column { name: "content", kind: Kind::Text, get: |r| Value::Text(r.content) },
    Column { name: "chunk_ids", kind: Kind::ChunkIds, get: |r| Value::List(r.chunk_ids.as_deref()) },
    Column { name: "file_path", kind: Kind::Text, get: |r| Value::Text(r.file_path) },
];

const RELATIONSHIPS: &[Column] = &[
    Column { name: "source_id", kind: Kind::Varchar, get: |r| Value::Text(r.src_id) },
    Column { name: "target_id", kind: Kind::Varchar, get: |r| Value::Text(r.tgt_id) },
    Column { name: "content", kind: Kind::Text, get: |r| Value::Text(r.content) },
    Column { name: "chunk_ids", kind: Kind::ChunkIds, get: |r| Value::List(r.chunk_ids.as_deref()) },
    Column { name: "file_path", kind: Kind::Text, get: |r| Value::Text(r.file_path) },
];

/// The payload columns of `ns`, in table order.
pub(crate) fn payload(ns: VectorNamespace) -> &'static [Column] {
    match ns {
        VectorNamespace::Chunks => CHUNKS,
        VectorNamespace::Entities => ENTITIES,
        VectorNamespace::Relationships => RELATIONSHIPS,
    }
}

/// The payload column names of `ns`, comma-separated.
pub(crate) fn names(ns: VectorNamespace) -> String {
    payload(ns).iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// Every column of a row, as a row copy between two vector tables of `ns`
/// names them (and as [`table_types`] types them).
pub(crate) fn row_list(ns: VectorNamespace) -> String {
    row_names(ns).join(", ")
}

/// The columns of [`row_list`], one by one.
pub(crate) fn row_names(ns: VectorNamespace) -> Vec<&'static str> {
    let mut names = vec!["workspace", "id"];
    names.extend(payload(ns).iter().map(|c| c.name));
    names.extend(["content_vector", "create_time", "update_time"]);
    names
}

/// What a read selects: `id`, the payload columns (chunk ids as `text[]`) and
/// `created_at` in epoch seconds, as [`crate::record::render`] expects them.
pub(crate) fn select_list(ns: VectorNamespace) -> String {
    let payload: Vec<String> = payload(ns)
        .iter()
        .map(|c| match c.kind {
            Kind::ChunkIds => format!("{0}::text[] AS {0}", c.name),
            _ => c.name.to_owned(),
        })
        .collect();
    format!("id, {}, EXTRACT(EPOCH FROM create_time)::BIGINT AS created_at", payload.join(", "))
}

/// The binary COPY types of the staging table: `id`, the payload, the vector.
pub(crate) fn stage_types(ns: VectorNamespace, vector: &Type) -> Vec<Type> {
    let mut types = vec![Type::TEXT];
    types.extend(payload(ns).iter().map(|c| c.kind.stage_type()));
    types.push(vector.clone());
    types
}

/// The binary COPY types of [`row_list`] into LightRAG's table.
pub(crate) fn table_types(ns: VectorNamespace, vector: &Type) -> Vec<Type> {
    let mut types = vec![Type::VARCHAR, Type::VARCHAR];
    types.extend(payload(ns).iter().map(|c| c.kind.table_type()));
    types.extend([vector.clone(), Type::TIMESTAMP, Type::TIMESTAMP]);
    types
}

/// A payload column's value, bound as a parameter or written by binary COPY.
#[derive(Debug)]
pub(crate) enum Value<'r> {
    /// An `INTEGER`.
    Int(Option<i32>),
    /// A `VARCHAR` or `TEXT`.
    Text(Option<&'r str>),
    /// The chunk ids.
    List(Option<&'r [&'r str]>),
    /// The chunk ids `<SEP>`-joined, for UNNEST (which cannot carry an array
    /// per row).
    Joined(Option<String>),
}

impl Value<'_> {
    /// The value as one element of an UNNEST array: chunk ids joined.
    pub(crate) fn flat(self) -> Self {
        match self {
            Self::List(ids) => Self::Joined(ids.map(|ids| ids.join(GRAPH_FIELD_SEP))),
            other => other,
        }
    }

    fn inner(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Int(v) => v,
            Self::Text(v) => v,
            Self::List(v) => v,
            Self::Joined(v) => v,
        }
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Self::Int(v) => v.to_sql(ty, out),
            Self::Text(v) => v.to_sql(ty, out),
            Self::List(v) => v.to_sql(ty, out),
            Self::Joined(v) => v.to_sql(ty, out),
        }
    }

    /// Any type: the value inside checks its own ([`ToSql::to_sql_checked`]).
    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.inner().to_sql_checked(ty, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [VectorNamespace; 3] =
        [VectorNamespace::Chunks, VectorNamespace::Entities, VectorNamespace::Relationships];

    #[test]
    fn row_copies_name_every_column_of_the_namespace() {
        assert_eq!(
            row_list(VectorNamespace::Entities),
            "workspace, id, entity_name, content, chunk_ids, file_path, content_vector, create_time, update_time"
        );
    }

    #[test]
    fn every_column_has_lightrags_type_in_the_ddl() {
        for ns in ALL {
            let ddl = lightrag_pg_pool::ddl::vector_table(ns, "t", lightrag_pg_pool::ddl::VectorColumn::Vector, 3)
                .unwrap()
                .remove(0);
            for c in payload(ns) {
                let ty = match c.kind {
                    Kind::Int => "INTEGER",
                    Kind::Varchar => "VARCHAR(",
                    Kind::Text => "TEXT",
                    Kind::ChunkIds => "VARCHAR(255)[]",
                };
                let at = ddl.find(&format!("{} {ty}", c.name));
                let is_array = at.is_some_and(|at| ddl[at..].split(',').next().is_some_and(|d| d.contains("[]")));
                assert!(at.is_some(), "{ns}: {} is not {ty} in {ddl}", c.name);
                assert_eq!(is_array, c.kind == Kind::ChunkIds, "{ns}: {}", c.name);
            }
        }
    }

    #[test]
    fn copy_types_cover_every_column_once() {
        for ns in ALL {
            let n = payload(ns).len();
            assert_eq!(stage_types(ns, &Type::BYTEA).len(), n + 2);
            assert_eq!(table_types(ns, &Type::BYTEA).len(), row_list(ns).split(", ").count());
        }
        assert_eq!(
            table_types(VectorNamespace::Relationships, &Type::BYTEA)[2..7],
            [Type::VARCHAR, Type::VARCHAR, Type::TEXT, Type::VARCHAR_ARRAY, Type::TEXT]
        );
    }

    #[test]
    fn reads_select_chunk_ids_as_text_arrays() {
        assert_eq!(
            select_list(VectorNamespace::Entities),
            "id, entity_name, content, chunk_ids::text[] AS chunk_ids, file_path, \
             EXTRACT(EPOCH FROM create_time)::BIGINT AS created_at"
        );
    }

    #[test]
    fn unnest_values_join_chunk_ids_with_sep() {
        let ids = ["c1", "c2"];
        assert!(matches!(Value::List(Some(&ids)).flat(), Value::Joined(Some(j)) if j == "c1<SEP>c2"));
        assert!(matches!(Value::List(None).flat(), Value::Joined(None)));
        assert!(matches!(Value::Int(Some(3)).flat(), Value::Int(Some(3))));
    }
}
