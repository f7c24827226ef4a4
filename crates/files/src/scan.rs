//! Phase 1 of a migration: find the storage files of a working directory, read
//! and check every one of them completely, and work out what will be written —
//! counts, skipped records, orphans, the format generation — without writing
//! anything. A malformed file stops the migration here, before any store is
//! touched.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use lightrag_pg_core::{DocStatus, KvNamespace, VectorNamespace};
use serde_json::Value;

use crate::doc_status;
use crate::error::MigrateError;
use crate::generation::{FormatGeneration as G, Markers, is_v157_chunk_id};
use crate::graphml::{self, GraphItem, GraphmlReader};
use crate::kv;
use crate::names::LegacyNames;
use crate::nano::{self, NanoFile, RowOutcome};
use crate::report::{MAX_WARNING_IDS, MigrationReport, SkipReason, SkippedRecord, Warning};
use crate::spool::Spool;

/// Vector rows decoded together, on the machine's cores, by the scan.
const DECODE_BLOCK: usize = 2048;

/// The LightRAG storage files of a directory.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// `kv_store_<namespace>.json` per key-value namespace.
    pub kv: BTreeMap<KvNamespace, PathBuf>,
    /// `kv_store_doc_status.json`.
    pub doc_status: Option<PathBuf>,
    /// `vdb_<namespace>.json` per vector namespace.
    pub vectors: BTreeMap<VectorNamespace, PathBuf>,
    /// `graph_chunk_entity_relation.graphml`.
    pub graph: Option<PathBuf>,
    /// Other files, left alone (e.g. RAG-Anything's `kv_store_parse_cache.json`).
    pub ignored: Vec<String>,
}

impl Inventory {
    /// Lists `dir`.
    ///
    /// # Errors
    /// [`MigrateError::InvalidDirectory`] when `dir` is not a directory or holds no
    /// LightRAG storage file; [`MigrateError::Io`] when it cannot be listed.
    pub fn of(dir: &Path) -> Result<Self, MigrateError> {
        if !dir.is_dir() {
            return Err(MigrateError::InvalidDirectory { dir: dir.to_owned(), reason: "not a directory".into() });
        }
        let mut inv = Self::default();
        let entries = std::fs::read_dir(dir).map_err(|e| MigrateError::io(dir, e))?;
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| MigrateError::io(dir, e))?;
            names.push((entry.file_name().to_string_lossy().into_owned(), entry.path()));
        }
        names.sort();
        for (name, path) in names {
            if name == doc_status::FILE_NAME {
                inv.doc_status = Some(path);
            } else if name == graphml::FILE_NAME {
                inv.graph = Some(path);
            } else if let Some(ns) = KvNamespace::ALL.into_iter().find(|ns| kv::file_name(*ns) == name) {
                inv.kv.insert(ns, path);
            } else if let Some(ns) = VectorNamespace::ALL.into_iter().find(|ns| nano::file_name(*ns) == name) {
                inv.vectors.insert(ns, path);
            } else {
                inv.ignored.push(name);
            }
        }
        if inv.kv.is_empty() && inv.doc_status.is_none() && inv.vectors.is_empty() && inv.graph.is_none() {
            return Err(MigrateError::InvalidDirectory {
                dir: dir.to_owned(),
                reason: "no LightRAG storage file (kv_store_*.json, vdb_*.json, graph_chunk_entity_relation.graphml)"
                    .into(),
            });
        }
        Ok(inv)
    }
}

/// Everything phase 1 learnt.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub inventory: Inventory,
    pub names: LegacyNames,
    pub report: MigrationReport,
    pub doc_ids: Vec<String>,
    pub kv_ids: BTreeMap<KvNamespace, Vec<String>>,
    pub node_ids: Vec<String>,
    pub edge_pairs: Vec<(String, String)>,
    pub vector_ids: BTreeMap<VectorNamespace, Vec<String>>,
    /// Per vector file, the rows phase 2 writes, decoded: the valid rows, of a
    /// repeated id its last copy only (matching `vector_ids`), last row first.
    /// Not kept for a dry run.
    pub vector_rows: BTreeMap<VectorNamespace, Spool>,
    /// Per key-value file, the records phase 2 writes, normalised, in file order
    /// (a repeated id more than once: the last copy is written last). Not kept
    /// for a dry run.
    pub kv_rows: BTreeMap<KvNamespace, Spool>,
    /// Per vector store, the rows the scan completed itself before spooling
    /// them (chunk fields from `text_chunks`), so the write phase need not read
    /// them back from the target.
    pub enriched: BTreeMap<String, u64>,
    /// Whether a vector row is to be completed from stores the write phase
    /// writes first (then the vector stores are written after them).
    pub enrich_from_target: bool,
    pub dimensions: BTreeMap<VectorNamespace, usize>,
}

pub(crate) fn sorted_pair(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) }
}

fn warn(report: &mut MigrationReport, store: &str, kind: &str, ids: Vec<String>, message: &str) {
    if ids.is_empty() {
        return;
    }
    let count = ids.len() as u64;
    let mut ids = ids;
    ids.truncate(MAX_WARNING_IDS);
    report.warnings.push(Warning { store: store.into(), kind: kind.into(), count, ids, message: message.into() });
}

fn add_counts(into: &mut BTreeMap<String, BTreeMap<String, u64>>, store: &str, counts: &BTreeMap<String, u64>) {
    if counts.is_empty() {
        return;
    }
    let slot = into.entry(store.to_owned()).or_default();
    for (k, v) in counts {
        *slot.entry(k.clone()).or_default() += v;
    }
}

/// A vector row after the legacy-name policy, as phase 2 writes it.
pub(crate) fn map_row(ns: VectorNamespace, names: LegacyNames, row: &mut nano::NanoRow) -> bool {
    if !names.strip_quotes {
        return false;
    }
    let old_id = row.id.clone();
    match ns {
        VectorNamespace::Entities => {
            if let Some(Value::String(name)) = row.payload.get("entity_name").cloned() {
                row.id = names.entity_vector_id(&old_id, &name);
                row.payload.insert("entity_name".into(), Value::from(names.name(&name).into_owned()));
            }
        }
        VectorNamespace::Relationships => {
            if let (Some(Value::String(s)), Some(Value::String(t))) =
                (row.payload.get("src_id").cloned(), row.payload.get("tgt_id").cloned())
            {
                row.id = names.relation_vector_id(&old_id, &s, &t);
                row.payload.insert("src_id".into(), Value::from(names.name(&s).into_owned()));
                row.payload.insert("tgt_id".into(), Value::from(names.name(&t).into_owned()));
            }
        }
        VectorNamespace::Chunks => {}
    }
    row.id != old_id
}

/// Fields phase 2 fills in a vector payload from other stores, when missing.
pub(crate) fn enrichable(ns: VectorNamespace) -> &'static [&'static str] {
    match ns {
        VectorNamespace::Chunks => &["content", "full_doc_id", "file_path", "tokens", "chunk_order_index"],
        VectorNamespace::Entities => &["content", "source_id", "file_path"],
        VectorNamespace::Relationships => &["content", "source_id", "file_path"],
    }
}

pub(crate) fn lacks(payload: &lightrag_pg_core::JsonObject, field: &str) -> bool {
    matches!(payload.get(field), None | Some(Value::Null))
}

/// The fields of a `text_chunks` record that a chunk vector row may lack
/// (LightRAG 1.5.7's rows have no `tokens` and `chunk_order_index`), kept by the
/// scan to complete the rows before they are spooled. `content` is not kept
/// (only old-v0 rows lack it; the write phase completes those).
#[derive(Debug)]
pub(crate) struct ChunkFill([Option<Value>; 4]);

impl ChunkFill {
    const FIELDS: [&'static str; 4] = ["full_doc_id", "file_path", "tokens", "chunk_order_index"];

    fn of(record: &lightrag_pg_core::JsonObject) -> Self {
        Self(Self::FIELDS.map(|f| record.get(f).filter(|v| !v.is_null()).cloned()))
    }

    /// Fills what `payload` lacks; whether anything was filled.
    fn complete(&self, payload: &mut lightrag_pg_core::JsonObject) -> bool {
        let mut any = false;
        for (field, value) in Self::FIELDS.iter().zip(&self.0) {
            if let Some(v) = value
                && lacks(payload, field)
            {
                payload.insert((*field).to_owned(), v.clone());
                any = true;
            }
        }
        any
    }
}

/// Phase 1: reads everything, writes nothing; `keep_rows` spools the decoded
/// vector rows for phase 2.
pub(crate) fn scan(
    dir: &Path,
    strip_legacy_quotes: bool,
    keep_rows: bool,
    progress: &dyn Fn(&str),
) -> Result<Plan, MigrateError> {
    let inventory = Inventory::of(dir)?;
    let mut plan = Plan::default();
    let mut markers = Markers::default();
    let report = &mut plan.report;
    report.source = dir.display().to_string();
    report.ignored_files = inventory.ignored.clone();

    // Graph first: it decides the legacy-name policy.
    let mut node_set: HashSet<String> = HashSet::new();
    let mut edge_set: HashSet<(String, String)> = HashSet::new();
    if let Some(path) = &inventory.graph {
        progress("graph");
        let mut reader = GraphmlReader::open(path)?;
        let mut raw_nodes: Vec<String> = Vec::new();
        let mut raw_edges: Vec<(String, String)> = Vec::new();
        let mut quoted = 0usize;
        for item in reader.by_ref() {
            match item? {
                GraphItem::Node { id, properties } => {
                    if let Err(e) = valid_id(&id).and_then(|()| properties.validate(&id).map_err(|e| e.to_string())) {
                        report.skipped.push(skip("graph.nodes", &id, e));
                        continue;
                    }
                    if LegacyNames::is_quoted(&id) {
                        quoted += 1;
                    }
                    raw_nodes.push(id);
                }
                GraphItem::Edge { source, target, properties } => {
                    let owner = format!("{source} -> {target}");
                    let check = valid_id(&source)
                        .and_then(|()| valid_id(&target))
                        .and_then(|()| properties.validate(&owner).map_err(|e| e.to_string()));
                    if let Err(e) = check {
                        report.skipped.push(skip("graph.edges", &owner, e));
                        continue;
                    }
                    raw_edges.push((source, target));
                }
            }
        }
        let node_keys = reader.key_names("node");
        let edge_keys = reader.key_names("edge");
        let has = |keys: &[String], k: &str| keys.iter().any(|x| x == k);
        if has(&node_keys, "entity_id") {
            markers.add(G::OldV1, "GraphML nodes carry entity_id");
        } else if !raw_nodes.is_empty() {
            markers.add(G::OldV0, "GraphML nodes without entity_id");
        }
        if has(&node_keys, "truncate") || has(&edge_keys, "truncate") {
            markers.add(G::New, "GraphML truncate attribute");
        }
        if reader.declared_directed() {
            warn(
                report,
                "graph.edges",
                "directed_graph_read_as_undirected",
                vec![path.display().to_string()],
                "the GraphML declares edgedefault=\"directed\"; LightRAG's graph is undirected and edges are read as such",
            );
        }
        let all_quoted = !raw_nodes.is_empty() && quoted == raw_nodes.len();
        if all_quoted {
            markers.add(G::OldV0, "quoted node ids (\"NAME\")");
        }
        plan.names = if strip_legacy_quotes && all_quoted && !has(&node_keys, "entity_id") {
            LegacyNames::STRIP
        } else {
            LegacyNames::KEEP
        };
        if quoted > 0 && !all_quoted {
            warn(
                report,
                "graph.nodes",
                "quoted_ids_kept",
                raw_nodes.iter().filter(|n| LegacyNames::is_quoted(n)).cloned().collect(),
                "some (not all) node ids are wrapped in double quotes; they are kept as they are",
            );
        }
        let names = plan.names;
        let mut dup_nodes = Vec::new();
        for id in raw_nodes {
            let id = names.name_owned(id);
            if node_set.insert(id.clone()) {
                plan.node_ids.push(id);
            } else {
                dup_nodes.push(id);
            }
        }
        warn(
            report,
            "graph.nodes",
            "duplicate_node",
            dup_nodes,
            "the node is declared more than once; its attributes are merged, the last value of each winning",
        );
        let mut dup_edges = Vec::new();
        let mut dangling = Vec::new();
        for (s, t) in raw_edges {
            let pair = sorted_pair(&names.name(&s), &names.name(&t));
            for end in [&pair.0, &pair.1] {
                if !node_set.contains(end) {
                    dangling.push(format!("{}<SEP>{}", pair.0, pair.1));
                }
            }
            if edge_set.insert(pair.clone()) {
                plan.edge_pairs.push(pair);
            } else {
                dup_edges.push(format!("{}<SEP>{}", pair.0, pair.1));
            }
        }
        warn(
            report,
            "graph.edges",
            "duplicate_edge",
            dup_edges,
            "the undirected pair occurs more than once (either direction); the last occurrence wins",
        );
        warn(
            report,
            "graph.edges",
            "edge_endpoint_without_node",
            dangling,
            "an endpoint is not declared as a node; the graph storage creates it with only entity_id",
        );
        report.graph.nodes = plan.node_ids.len() as u64;
        report.graph.edges = plan.edge_pairs.len() as u64;
        report.legacy_quotes_stripped = names.strip_quotes;
    }
    let names = plan.names;

    // Doc status.
    let mut doc_statuses: HashMap<String, DocStatus> = HashMap::new();
    if let Some(path) = &inventory.doc_status {
        progress(doc_status::STORE);
        let f = doc_status::read(path)?;
        if f.fields.contains("content_hash") {
            markers.add(G::V1_5_7, "doc status content_hash");
        }
        if f.fields.contains("track_id") {
            markers.add(G::New, "doc status track_id");
        }
        if f.fields.contains("chunks_list") {
            markers.add(G::OldV1, "doc status chunks_list");
        } else if !f.records.is_empty() {
            markers.add(G::OldV0, "doc status without chunks_list");
        }
        if f.naive_timestamps {
            markers.add(G::OldV0, "doc status timestamps without time zone");
        }
        report.skipped.extend(f.skipped);
        add_counts(&mut report.dropped_fields, doc_status::STORE, &f.dropped_fields);
        add_counts(&mut report.defaults_filled, doc_status::STORE, &f.defaults_filled);
        for (id, d) in &f.records {
            doc_statuses.insert(id.clone(), d.status);
            plan.doc_ids.push(id.clone());
        }
        report.doc_status = f.records.len() as u64;
    }

    // Key-value stores.
    let mut chunk_docs: Vec<(String, Option<String>)> = Vec::new();
    let mut text_chunk_ids: HashSet<String> = HashSet::new();
    // The small fields chunk vector rows may lack, per text chunk.
    let mut chunk_fills: HashMap<String, ChunkFill> = HashMap::new();
    for (ns, path) in &inventory.kv {
        progress(ns.as_str());
        let mut spool = if keep_rows { Some(Spool::new()?) } else { None };
        let (mut ids, mut v157) = (Vec::new(), false);
        let f = kv::read_each(path, *ns, names, |id, record, first| {
            if *ns == KvNamespace::TextChunks {
                if first {
                    v157 |= is_v157_chunk_id(&id);
                    text_chunk_ids.insert(id.clone());
                    chunk_docs.push((id.clone(), record.get("full_doc_id").and_then(Value::as_str).map(str::to_owned)));
                }
                if keep_rows {
                    chunk_fills.insert(id.clone(), ChunkFill::of(&record));
                }
            }
            if let Some(spool) = &mut spool {
                spool.push(&id, &record, &[])?;
            }
            if first {
                ids.push(id);
            }
            Ok(())
        })?;
        match ns {
            KvNamespace::FullEntities
            | KvNamespace::FullRelations
            | KvNamespace::EntityChunks
            | KvNamespace::RelationChunks => markers.add(G::New, format!("{} present", kv::file_name(*ns))),
            KvNamespace::LlmResponseCache => {
                if f.flattened > 0 {
                    markers.add(G::OldV0, "nested LLM cache {mode: {hash: entry}}");
                }
                if f.flat_cache_keys {
                    markers.add(G::OldV1, "flat LLM cache keys mode:type:hash");
                }
            }
            KvNamespace::FullDocs if f.fields.contains("parse_format") => {
                markers.add(G::V1_5_7, "full_docs parse_format");
            }
            KvNamespace::TextChunks if v157 => markers.add(G::V1_5_7, "chunk ids doc-<md5>-chunk-NNN"),
            _ => {}
        }
        report.llm_cache_flattened += f.flattened;
        report.skipped.extend(f.skipped);
        add_counts(&mut report.defaults_filled, ns.as_str(), &f.defaults_filled);
        warn(report, ns.as_str(), "duplicate_id", f.duplicates, "the key occurs more than once; the last record wins");
        *kv_count(report, *ns) = ids.len() as u64;
        plan.kv_ids.insert(*ns, ids);
        if let Some(spool) = spool {
            plan.kv_rows.insert(*ns, spool);
        }
    }
    if inventory.doc_status.is_some() {
        chunk_warnings(report, "text_chunks", &chunk_docs, &doc_statuses);
    }
    let chunk_doc: HashMap<String, Option<String>> = chunk_docs.into_iter().collect();

    // Vector stores.
    let have_graph = inventory.graph.is_some();
    for (ns, path) in &inventory.vectors {
        let store = nano::store_name(*ns);
        progress(&store);
        let file = NanoFile::open(path, *ns)?;
        plan.dimensions.insert(*ns, file.dimension());
        match ns {
            VectorNamespace::Chunks => report.embedding_dim.chunks = Some(file.dimension()),
            VectorNamespace::Entities => report.embedding_dim.entities = Some(file.dimension()),
            VectorNamespace::Relationships => report.embedding_dim.relationships = Some(file.dimension()),
        }
        let mut ids = Vec::with_capacity(file.len());
        let mut rows = if keep_rows { Some(Spool::new()?) } else { None };
        let mut skipped = Vec::new();
        let mut seen = HashSet::with_capacity(file.len());
        let (mut dups, mut rekeyed) = (Vec::new(), Vec::new());
        let (mut no_node, mut no_edge) = (Vec::new(), Vec::new());
        let mut names_seen: HashSet<String> = HashSet::new();
        let mut chunk_rows: Vec<(String, Option<String>)> = Vec::new();
        let mut missing_chunk = Vec::new();
        let (mut planned_enrich, mut completed) = (0u64, 0u64);
        let (mut raw, mut no_content, mut write_seq) = (false, false, false);
        // Backwards, so that the first copy of a repeated id met is its last
        // one: the copy that is spooled, written, checked and verified. The
        // lists are turned back into file order after the loop.
        // Decoded a block at a time on the machine's cores (the server is idle
        // during the scan); checked and spooled in order.
        let backwards: Vec<usize> = (0..file.len()).rev().collect();
        let decoded =
            backwards.chunks(DECODE_BLOCK).map(|block| file.rows_and_fields(block)).flat_map(|block| match block {
                Ok(rows) => rows.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            });
        for row in decoded {
            let (outcome, fields) = row?;
            for f in &fields {
                match f.as_str() {
                    "vector" => raw = true,
                    "__write_seq__" => write_seq = true,
                    _ => {}
                }
            }
            let mut row = match outcome {
                RowOutcome::Row(r) => r,
                RowOutcome::Skipped(s) => {
                    skipped.push(s);
                    continue;
                }
            };
            no_content |= lacks(&row.payload, "content");
            let source = if row.from_raw { "raw" } else { "matrix" };
            *report.vector_sources.entry(store.clone()).or_default().entry(source.to_owned()).or_default() += 1;
            let old = row.id.clone();
            if map_row(*ns, names, &mut row) {
                rekeyed.push(format!("{old} -> {}", row.id));
            }
            if !seen.insert(row.id.clone()) {
                dups.push(row.id.clone());
                continue;
            }
            let p = &row.payload;
            let needs = enrichable(*ns).iter().any(|f| lacks(p, f));
            match ns {
                VectorNamespace::Entities => {
                    if let Some(name) = p.get("entity_name").and_then(Value::as_str) {
                        names_seen.insert(name.to_owned());
                        let in_graph = node_set.contains(name);
                        if have_graph && !in_graph {
                            no_node.push(row.id.clone());
                        }
                        planned_enrich += u64::from(needs && in_graph);
                        plan.enrich_from_target |= needs && in_graph;
                    }
                }
                VectorNamespace::Relationships => {
                    if let (Some(s), Some(t)) =
                        (p.get("src_id").and_then(Value::as_str), p.get("tgt_id").and_then(Value::as_str))
                    {
                        let pair = sorted_pair(s, t);
                        let in_graph = edge_set.contains(&pair);
                        if have_graph && !in_graph {
                            no_edge.push(row.id.clone());
                        }
                        names_seen.insert(format!("{}<SEP>{}", pair.0, pair.1));
                        planned_enrich += u64::from(needs && in_graph);
                        plan.enrich_from_target |= needs && in_graph;
                    }
                }
                VectorNamespace::Chunks => {
                    // Old-v0 rows carry no full_doc_id: take the chunk record's.
                    let doc = p
                        .get("full_doc_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .or_else(|| chunk_doc.get(&row.id).cloned().flatten());
                    chunk_rows.push((row.id.clone(), doc));
                    let in_kv = text_chunk_ids.contains(&row.id);
                    if inventory.kv.contains_key(&KvNamespace::TextChunks) && !in_kv {
                        missing_chunk.push(row.id.clone());
                    }
                    planned_enrich += u64::from(needs && in_kv);
                    if needs && let Some(fill) = chunk_fills.get(&row.id) {
                        completed += u64::from(fill.complete(&mut row.payload));
                    }
                    plan.enrich_from_target |= needs && in_kv && enrichable(*ns).iter().any(|f| lacks(&row.payload, f));
                }
            }
            if let Some(spool) = &mut rows {
                spool.push(&row.id, &row.payload, &row.vector)?;
            }
            ids.push(row.id);
        }
        for list in [&mut ids, &mut dups, &mut rekeyed, &mut no_node, &mut no_edge, &mut missing_chunk] {
            list.reverse();
        }
        chunk_rows.reverse();
        report.skipped.extend(skipped.into_iter().rev());
        if raw {
            markers.add(G::New, "vector rows carry their raw vector");
        }
        if write_seq {
            markers.add(G::V1_5_7, "vector rows carry __write_seq__");
        }
        if no_content && !file.is_empty() {
            markers.add(G::OldV0, "vector rows without content");
        }
        warn(report, &store, "duplicate_id", dups, "the __id__ occurs more than once; the last row wins");
        warn(
            report,
            &store,
            "rekeyed_legacy_id",
            rekeyed,
            "old-v0 id re-hashed from the unquoted entity name (ent-/rel- + md5), as LightRAG 1.5.7 computes it",
        );
        warn(
            report,
            &store,
            "entity_vector_without_node",
            no_node,
            "the entity vector's entity_name is not a graph node (stale vector row); kept",
        );
        warn(
            report,
            &store,
            "relation_vector_without_edge",
            no_edge,
            "the relation vector's pair is not a graph edge (stale vector row); kept",
        );
        warn(
            report,
            &store,
            "chunk_vector_without_chunk",
            missing_chunk,
            "the chunk vector has no record in kv_store_text_chunks.json; kept",
        );
        match ns {
            VectorNamespace::Entities if have_graph => {
                let missing: Vec<String> = plan.node_ids.iter().filter(|n| !names_seen.contains(*n)).cloned().collect();
                warn(
                    report,
                    "graph.nodes",
                    "node_without_entity_vector",
                    missing,
                    "the graph node has no row in vdb_entities.json; it is not found by entity vector search",
                );
            }
            VectorNamespace::Relationships if have_graph => {
                let missing: Vec<String> = plan
                    .edge_pairs
                    .iter()
                    .map(|(a, b)| format!("{a}<SEP>{b}"))
                    .filter(|k| !names_seen.contains(k))
                    .collect();
                warn(
                    report,
                    "graph.edges",
                    "edge_without_relation_vector",
                    missing,
                    "the graph edge has no row in vdb_relationships.json; it is not found by relation vector search",
                );
            }
            VectorNamespace::Chunks if inventory.doc_status.is_some() => {
                chunk_warnings(report, &store, &chunk_rows, &doc_statuses);
            }
            _ => {}
        }
        if planned_enrich > 0 {
            report.enriched.insert(store.clone(), planned_enrich);
        }
        if completed > 0 {
            plan.enriched.insert(store.clone(), completed);
        }
        let n = ids.len() as u64;
        match ns {
            VectorNamespace::Chunks => report.vectors.chunks = n,
            VectorNamespace::Entities => report.vectors.entities = n,
            VectorNamespace::Relationships => report.vectors.relationships = n,
        }
        plan.vector_ids.insert(*ns, ids);
        if let Some(spool) = rows {
            plan.vector_rows.insert(*ns, spool);
        }
    }

    report.format_generation = markers.generation();
    report.format_markers = markers.describe();
    plan.inventory = inventory;
    Ok(plan)
}

/// Orphan chunks: chunks whose document is failed, or has no status record.
fn chunk_warnings(
    report: &mut MigrationReport,
    store: &str,
    chunks: &[(String, Option<String>)],
    docs: &HashMap<String, DocStatus>,
) {
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for (id, doc) in chunks {
        let Some(doc) = doc else { continue };
        match docs.get(doc) {
            Some(DocStatus::Failed) => failed.push(id.clone()),
            Some(_) => {}
            None => unknown.push(id.clone()),
        }
    }
    warn(
        report,
        store,
        "chunk_of_failed_doc",
        failed,
        "the chunk belongs to a document whose status is failed (an orphan of an interrupted run); kept",
    );
    warn(report, store, "chunk_without_doc_status", unknown, "the chunk's full_doc_id has no doc status record; kept");
}

pub(crate) fn kv_count(report: &mut MigrationReport, ns: KvNamespace) -> &mut u64 {
    match ns {
        KvNamespace::FullDocs => &mut report.full_docs,
        KvNamespace::TextChunks => &mut report.text_chunks,
        KvNamespace::LlmResponseCache => &mut report.llm_cache,
        KvNamespace::FullEntities => &mut report.full_entities,
        KvNamespace::FullRelations => &mut report.full_relations,
        KvNamespace::EntityChunks => &mut report.entity_chunks,
        KvNamespace::RelationChunks => &mut report.relation_chunks,
    }
}

fn valid_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty entity id".into());
    }
    if id.contains('\0') {
        return Err("entity id contains a NUL byte".into());
    }
    Ok(())
}

fn skip(store: &str, id: &str, detail: String) -> SkippedRecord {
    SkippedRecord { store: store.into(), id: id.into(), reason: SkipReason::InvalidRecord, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_storage_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let err = Inventory::of(dir.path()).unwrap_err();
        assert!(matches!(err, MigrateError::InvalidDirectory { .. }), "{err}");
        let err = Inventory::of(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("not a directory"));
    }

    #[test]
    fn unknown_files_are_listed_as_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kv_store_full_docs.json"), "{}").unwrap();
        std::fs::write(dir.path().join("kv_store_parse_cache.json"), "{}").unwrap();
        let inv = Inventory::of(dir.path()).unwrap();
        assert_eq!(inv.ignored, ["kv_store_parse_cache.json"]);
        assert!(inv.kv.contains_key(&KvNamespace::FullDocs));
    }
}
