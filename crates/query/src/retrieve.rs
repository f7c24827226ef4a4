//! [`Retriever::retrieve`]: LightRAG's `aquery_data` (and the
//! `only_need_context` string of `aquery`), step for step: search, token
//! truncation of entities and relations, chunk merging, chunk truncation and
//! the context.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use lightrag_pg_core::{Embedder, KvNamespace, KvStorage, Storage, VectorNamespace, Workspace};
use lightrag_pg_pool::{GraphEngine, LightRagSettings, PgConfig, PgPool, Pools, Sources};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::embed::HttpEmbedder;
use crate::error::QueryError;
use crate::fetch::{Props, Store, VectorChunk};
use crate::keywords::KeywordCacheIdentity;
use crate::lines::Lines;
use crate::llm::{ChatModel, ChatRequest, HttpChatModel};
use crate::param::{ChunkPickMethod, Mode, QueryParam, RetrievalSettings};
use crate::pyfmt::{dumps, format};
use crate::rerank::{HttpReranker, Reranker};
use crate::select::{owners, split_sep, vector_similarity, weighted_polling};
use crate::token_cache::{CachedTokenizer, DEFAULT_CAPACITY_BYTES};
use crate::tokenizer::{Tiktoken, Tokenizer};
use crate::{prompts, validate};

/// What `aquery_data` returns, plus the context string.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Retrieval {
    /// `aquery_data`'s dictionary, key for key: `status`, `message`, `data`
    /// (`entities`, `relationships`, `chunks`, `references`) and `metadata`.
    pub data: Value,
    /// What `aquery(..., QueryParam(only_need_context=True))` returns: the
    /// context LightRAG would hand to the LLM (empty when nothing was found).
    pub context: String,
    /// LightRAG's `QueryProgress` events of this retrieval, in order
    /// (`extracting_keywords`, `retrieving_entities`, `retrieving_relations`,
    /// `retrieving_chunks`, `reranking`; after [`Retriever::answer`] asked the LLM in a
    /// knowledge-graph mode, `generating_response`): what its server streams
    /// with `include_progress`.
    #[serde(skip)]
    pub progress: Vec<&'static str>,
}

impl Retrieval {
    /// `status == "success"`.
    pub fn is_success(&self) -> bool {
        self.data.get("status").and_then(Value::as_str) == Some("success")
    }

    fn list(&self, key: &str) -> &[Value] {
        self.data.pointer(&format!("/data/{key}")).and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    /// The entities found.
    pub fn entities(&self) -> &[Value] {
        self.list("entities")
    }

    /// The relationships found.
    pub fn relationships(&self) -> &[Value] {
        self.list("relationships")
    }

    /// The chunks found.
    pub fn chunks(&self) -> &[Value] {
        self.list("chunks")
    }

    /// The references (file paths) of the chunks.
    pub fn references(&self) -> &[Value] {
        self.list("references")
    }
}

/// Retrieval over one workspace's PostgreSQL storages.
#[derive(Debug, Clone)]
pub struct Retriever {
    pub(crate) store: Store,
    dimension: usize,
    embedder: Arc<dyn Embedder>,
    tokenizer: Arc<dyn Tokenizer>,
    pub(crate) settings: RetrievalSettings,
    pub(crate) keyword_cache: KeywordCacheIdentity,
    reranker: Option<Arc<dyn Reranker>>,
    pub(crate) llm: Option<Arc<dyn ChatModel>>,
    /// `ENABLE_LLM_CACHE`: read and write `lightrag_llm_cache` for queries.
    pub(crate) llm_cache: bool,
    /// Whether `lightrag_llm_cache` was made sure of (before the first write).
    cache_table: Arc<tokio::sync::OnceCell<()>>,
}

/// A chunk on its way to the context.
#[derive(Debug, Clone)]
struct Chunk {
    id: String,
    content: String,
    file_path: Option<String>,
    /// The reranker's score (`rerank_score`), when it scored the chunk.
    rerank_score: Option<f64>,
}

impl From<VectorChunk> for Chunk {
    fn from(c: VectorChunk) -> Self {
        Self { id: c.id, content: c.content, file_path: c.file_path, rerank_score: None }
    }
}

impl Retriever {
    /// Opens retrieval over workspace `ws`'s tables: the three vector tables of
    /// `dimension` (and `model_name`'s suffix, as LightRAG names them), the
    /// graph of `engine`, the text chunks.
    ///
    /// `pools` decides where the reads go: a [`PgPool`] alone (`pool.into()`)
    /// reads the primary; [`Pools`] with read hosts reads a standby when one is
    /// fit ([`lightrag_pg_pool::routing`]). The keyword cache is always read on
    /// the primary.
    ///
    /// # Errors
    /// [`QueryError::NotFound`] when the workspace holds no chunk and no entity;
    /// storage errors.
    pub async fn open(
        pools: impl Into<Pools>,
        ws: Workspace,
        engine: GraphEngine,
        dimension: usize,
        model_name: Option<&str>,
        embedder: Arc<dyn Embedder>,
        settings: RetrievalSettings,
    ) -> Result<Self, QueryError> {
        let pools = pools.into();
        // Read only: the tables must exist (nothing is created), with vectors
        // of the embedder's dimension.
        let mut tables: Vec<String> =
            [VectorNamespace::Entities, VectorNamespace::Relationships, VectorNamespace::Chunks]
                .into_iter()
                .map(|ns| lightrag_pg_pool::ddl::vector_table_name(ns, model_name, dimension))
                .collect::<Result<_, _>>()?;
        let graph_table = match engine {
            GraphEngine::Age => format!(
                "{}.base",
                lightrag_pg_pool::ident::quote_ident(&lightrag_pg_graph::names::age_graph_name(&ws))?
            ),
            GraphEngine::Table => "lightrag_graph_nodes".to_owned(),
        };
        let mut probe = tables.clone();
        probe.extend(["lightrag_doc_chunks".to_owned(), graph_table.clone()]);
        let found = crate::fetch::probe_tables(&pools, &probe).await?;
        if let Some((name, _)) = probe.iter().zip(&found).find(|(_, f)| !f.0) {
            let hint = if name.starts_with("LIGHTRAG_VDB") {
                " (EMBEDDING_MODEL / --model-name and EMBEDDING_DIM name the vector tables)"
            } else {
                ""
            };
            return Err(QueryError::NotFound { what: format!("workspace '{ws}': table {name} does not exist{hint}") });
        }
        let mut cast = "vector";
        for (name, (_, column)) in tables.iter().zip(&found) {
            let column = column.as_deref().unwrap_or_default();
            let (kind, dim) = column.split_once('(').unwrap_or((column, ""));
            let dim: Option<usize> = dim.trim_end_matches(')').parse().ok();
            if kind == "halfvec" {
                cast = "halfvec";
            }
            if let Some(d) = dim.filter(|d| *d != dimension) {
                return Err(QueryError::Config {
                    key: "EMBEDDING_DIM".into(),
                    message: format!("{dimension}, but {name} holds {d}-dimensional vectors"),
                });
            }
        }
        tables.iter_mut().for_each(|t| *t = t.to_lowercase());
        let store = Store::new(pools, ws.clone(), engine, [&tables[0], &tables[1], &tables[2]], cast)?;
        if !store.exists().await? {
            return Err(QueryError::NotFound {
                what: format!("workspace '{ws}': no chunk and no entity in {} / {}", tables[2], tables[0]),
            });
        }
        Ok(Self {
            store,
            dimension,
            embedder,
            tokenizer: cached(Arc::new(Tiktoken::o200k_base())),
            settings,
            keyword_cache: KeywordCacheIdentity::default(),
            reranker: None,
            llm: None,
            llm_cache: true,
            cache_table: Arc::default(),
        })
    }

    /// Opens retrieval from LightRAG's configuration: `POSTGRES_*`, `WORKSPACE`,
    /// `LIGHTRAG_GRAPH_STORAGE`, `EMBEDDING_*` (the question is embedded by
    /// [`HttpEmbedder::from_sources`]), `COSINE_THRESHOLD`,
    /// `RELATED_CHUNK_NUMBER`, `KG_CHUNK_PICK_METHOD`, `MIN_RERANK_SCORE`,
    /// the `RERANK_*` binding ([`HttpReranker::from_sources`]), the LLM
    /// (`LLM_BINDING` and the rest, when set) and `ENABLE_LLM_CACHE`; with
    /// `POSTGRES_READ_HOSTS`, reads go to a standby when one is fit.
    ///
    /// # Errors
    /// [`QueryError::Config`] for a missing or bad setting; as [`Retriever::open`].
    pub async fn from_sources(sources: &Sources) -> Result<Self, QueryError> {
        let lightrag = LightRagSettings::from_sources(sources)?;
        let settings = RetrievalSettings::from_sources(sources)?;
        let embedder = HttpEmbedder::from_sources(sources)?;
        let reranker = HttpReranker::from_sources(sources)?;
        let pg = PgConfig::from_sources(sources)?;
        let ws = Workspace::resolve(pg.workspace.as_deref(), lightrag.workspace.as_deref())?;
        let engine = lightrag.stores.graph.ok_or_else(|| QueryError::Config {
            key: "LIGHTRAG_GRAPH_STORAGE".into(),
            message: "the graph is not in PostgreSQL; retrieval here needs PGGraphStorage or PGTableGraphStorage"
                .into(),
        })?;
        let dimension = embedder.dimension();
        let pools = Pools::connect(pg).await?;
        Self::open(pools, ws, engine, dimension, lightrag.embedding_model.as_deref(), Arc::new(embedder), settings)
            .await?
            .with_reranker(reranker.map(|r| Arc::new(r) as Arc<dyn Reranker>))
            .with_llm_from_sources(sources)
    }

    /// The same with the LLM settings of `sources`: the LLM (`LLM_BINDING`
    /// and the rest, [`HttpChatModel::from_sources`]; none when unset), the
    /// cache identity (`SUMMARY_LANGUAGE`, `LLM_*`) and `ENABLE_LLM_CACHE`.
    ///
    /// # Errors
    /// [`QueryError::Config`] naming a malformed LLM setting.
    pub fn with_llm_from_sources(self, sources: &Sources) -> Result<Self, QueryError> {
        let llm_cache = sources
            .value("ENABLE_LLM_CACHE")
            .is_none_or(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "t" | "on"));
        let mut retriever =
            self.with_keyword_cache(KeywordCacheIdentity::from_sources(sources)).with_llm_cache(llm_cache);
        if let Some(llm) = HttpChatModel::from_sources(sources)? {
            retriever = retriever.with_llm(Arc::new(llm));
        }
        Ok(retriever)
    }

    /// The same with an LLM: keywords not given nor cached are extracted by
    /// it, and [`Retriever::answer`] asks it. [`Retriever::from_sources`]
    /// reads `LLM_BINDING` and the rest ([`HttpChatModel::from_sources`]).
    pub fn with_llm(mut self, llm: Arc<dyn ChatModel>) -> Self {
        self.llm = Some(llm);
        self
    }

    /// The same with LightRAG's `enable_llm_cache` (`ENABLE_LLM_CACHE`,
    /// default true): whether keyword extractions and answers are looked up
    /// in, and written to, `lightrag_llm_cache`.
    pub fn with_llm_cache(mut self, enabled: bool) -> Self {
        self.llm_cache = enabled;
        self
    }

    /// The same with a rerank model (LightRAG's `rerank_model_func`), or
    /// none: queries with `enable_rerank` then reorder the chunks by it.
    pub fn with_reranker(mut self, reranker: Option<Arc<dyn Reranker>>) -> Self {
        self.reranker = reranker;
        self
    }

    /// The rerank model, when one is configured.
    pub fn reranker(&self) -> Option<&Arc<dyn Reranker>> {
        self.reranker.as_ref()
    }

    /// The same, looking cached keywords up under this identity (default:
    /// LightRAG's library defaults; [`Retriever::from_sources`] reads
    /// `SUMMARY_LANGUAGE` and `LLM_*`).
    pub fn with_keyword_cache(mut self, identity: KeywordCacheIdentity) -> Self {
        self.keyword_cache = identity;
        self
    }

    /// The same with another tokenizer (LightRAG's `tokenizer=`).
    /// Its tokens of long texts are remembered ([`CachedTokenizer`]).
    pub fn with_tokenizer(mut self, tokenizer: Arc<dyn Tokenizer>) -> Self {
        self.tokenizer = cached(tokenizer);
        self
    }

    /// The same, also measuring the floor: every statement runs a second time
    /// under `EXPLAIN (ANALYZE, TIMING OFF)` first, and [`Retriever::floor_ms`]
    /// sums the server's execution times. For benchmarks only.
    pub fn with_floor_probe(mut self) -> Self {
        self.store.floor = Some(Arc::default());
        self
    }

    /// The server execution time of the statements since the last call (ms),
    /// with [`Retriever::with_floor_probe`]; 0 otherwise.
    pub fn floor_ms(&self) -> f64 {
        self.store.floor.as_ref().map_or(0.0, |f| f.swap(0, std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0)
    }

    /// The workspace.
    pub fn workspace(&self) -> &Workspace {
        &self.store.ws
    }

    /// The write pool (the primary), for programs that serve more than
    /// retrieval from it (`lightrag-pg serve`'s graph routes).
    pub fn pool(&self) -> &PgPool {
        self.store.pools.write()
    }

    /// The pools retrieval reads through: where reads went
    /// ([`Pools::stats`]) and the standbys' state ([`Pools::replication`]).
    pub fn pools(&self) -> &Pools {
        &self.store.pools
    }

    /// The graph engine.
    pub fn engine(&self) -> GraphEngine {
        self.store.engine
    }

    /// LightRAG's `aquery_data(question, param)`, and the context string.
    ///
    /// # Errors
    /// [`QueryError::InvalidInput`] for an empty or too short question;
    /// [`QueryError::NoKeywords`] for a keyword mode without keywords; the
    /// embedding errors; storage errors.
    #[tracing::instrument(level = "debug", skip(self, param), fields(mode = %param.mode, ws = %self.store.ws))]
    pub async fn retrieve(&self, question: &str, param: &QueryParam) -> Result<Retrieval, QueryError> {
        let query = validate::query(question, param.mode)?;
        match param.mode {
            Mode::Bypass => Ok(Retrieval {
                data: user_format(
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Mode::Bypass,
                    "success",
                    "Query processed successfully",
                ),
                context: String::new(),
                progress: Vec::new(),
            }),
            Mode::Naive => self.naive(&query, param).await,
            _ => self.kg(&query, param).await,
        }
    }

    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, QueryError> {
        let vectors = match self.embedder.embed(&texts).await {
            Ok(v) => v,
            Err(lightrag_pg_core::Error::Connection { source: Some(source), .. }) if source.is::<QueryError>() => {
                return Err(*source
                    .downcast::<QueryError>()
                    .map_err(|_| QueryError::invalid("embedding", "lost cause"))?);
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dimension) {
            return Err(QueryError::EmbeddingDimension { expected: self.dimension, got: v.len() });
        }
        if vectors.len() != texts.len() {
            return Err(QueryError::invalid(
                "embedding",
                format!("{} vectors for {} texts", vectors.len(), texts.len()),
            ));
        }
        Ok(vectors)
    }

    fn cutoff(&self) -> f64 {
        1.0 - self.settings.cosine_threshold
    }

    fn count(&self, text: &str) -> i64 {
        i64::try_from(self.tokenizer.count(text)).unwrap_or(i64::MAX)
    }

    pub(crate) fn effective_user_prompt(&self, param: &QueryParam) -> String {
        let prefix = if param.disable_user_prompt_prefix { "" } else { self.settings.user_prompt_prefix.as_str() };
        format!("{prefix}{}", param.user_prompt.as_deref().unwrap_or(""))
    }

    async fn naive(&self, query: &str, param: &QueryParam) -> Result<Retrieval, QueryError> {
        let v = self.embed(vec![query.to_owned()]).await?.remove(0);
        let top_k = if param.chunk_top_k > 0 { param.chunk_top_k } else { param.top_k };
        let found = self.store.vector_chunks(&v, self.cutoff(), top_k).await?;
        if found.is_empty() {
            return Ok(no_results(Mode::Naive, "No relevant document chunks found.", vec![RETRIEVING_CHUNKS]));
        }
        let total = found.len();
        let text = self.effective_user_prompt(param);
        let slot = if text.is_empty() { "n/a".to_owned() } else { format!("\n\n{text}") };
        let sys = format(
            prompts::NAIVE_RAG_RESPONSE,
            &[("response_type", response_type(param)), ("user_prompt", &slot), ("content_data", "")],
        );
        let available = param.max_total_tokens - (self.count(&sys) + self.count(query) + 200);
        let chunks: Vec<Chunk> = found.into_iter().map(Chunk::from).collect();
        let kept = self.process_chunks(query, chunks, param, available).await;
        let (references, with_refs) = reference_list(&kept);
        let mut data = user_format(
            Vec::new(),
            Vec::new(),
            chunk_values(&with_refs),
            references.clone(),
            Mode::Naive,
            "success",
            "Query processed successfully",
        );
        data["metadata"]["processing_info"] =
            json!({"total_chunks_found": total, "final_chunks_count": with_refs.len()});
        let context = format(
            prompts::NAIVE_QUERY_CONTEXT,
            &[("text_chunks_str", &render_chunks(&with_refs)), ("reference_list_str", &render_references(&references))],
        );
        let progress = if param.enable_rerank { vec![RETRIEVING_CHUNKS, RERANKING] } else { vec![RETRIEVING_CHUNKS] };
        Ok(Retrieval { data, context, progress })
    }

    async fn kg(&self, query: &str, param: &QueryParam) -> Result<Retrieval, QueryError> {
        // LightRAG's get_keywords_from_query: the given keywords, else the
        // extraction's (cached, or asked of the LLM).
        let (mut hl, mut ll) = (param.hl_keywords.clone(), param.ll_keywords.clone());
        if hl.is_empty() && ll.is_empty() {
            (hl, ll) = self.extract_keywords(query, param).await?;
            if hl.is_empty() && ll.is_empty() {
                if query.chars().count() >= 50 {
                    return Ok(Retrieval {
                        data: json!({}),
                        context: prompts::FAIL_RESPONSE.to_owned(),
                        progress: vec![EXTRACTING_KEYWORDS],
                    });
                }
                ll = vec![query.to_owned()];
            }
        }
        let (hl, ll) = (&hl, &ll);
        let ll_str = ll.join(", ");
        let hl_str = hl.join(", ");
        let mode = param.mode;
        // Which branches run (LightRAG's `_perform_kg_search`, including its
        // fall-through of local without ll / global without hl to the hybrid branch).
        let (run_local, run_global, run_vector) = match mode {
            Mode::Local if !ll_str.is_empty() => (true, false, false),
            Mode::Global if !hl_str.is_empty() => (false, true, false),
            _ => (!ll_str.is_empty(), !hl_str.is_empty(), mode == Mode::Mix),
        };
        let mut progress = vec![EXTRACTING_KEYWORDS];
        progress.extend(run_local.then_some(RETRIEVING_ENTITIES));
        progress.extend(run_global.then_some(RETRIEVING_RELATIONS));
        progress.extend(run_vector.then_some(RETRIEVING_CHUNKS));
        let mut texts = vec![query.to_owned()];
        if run_local {
            texts.push(ll_str.clone());
        }
        if run_global {
            texts.push(hl_str.clone());
        }
        let started = std::time::Instant::now();
        let mut vectors = self.embed(texts).await?.into_iter();
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "embedded");
        let query_vec = vectors.next().unwrap_or_default();
        let ll_vec = if run_local { vectors.next() } else { None };
        let hl_vec = if run_global { vectors.next() } else { None };

        let cutoff = self.cutoff();
        let (local, global, vector) = tokio::join!(
            async {
                match &ll_vec {
                    Some(v) => self.store.local(v, cutoff, param.top_k).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match &hl_vec {
                    Some(v) => self.store.global(v, cutoff, param.top_k).await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                if run_vector {
                    let top_k = if param.chunk_top_k > 0 { param.chunk_top_k } else { param.top_k };
                    self.store.vector_chunks(&query_vec, cutoff, top_k).await
                } else {
                    Ok(Vec::new())
                }
            },
        );
        let (local_entities, local_relations) = match local? {
            Some(rows) => local_data(rows),
            None => (Vec::new(), Vec::new()),
        };
        let (global_relations, global_entities) = match global? {
            Some(rows) => global_data(rows),
            None => (Vec::new(), Vec::new()),
        };
        let vector_chunks: Vec<VectorChunk> = vector?;
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "searched");

        let final_entities = round_robin(local_entities, global_entities, |e| name_of(e).map(str::to_owned));
        let final_relations = round_robin(local_relations, global_relations, |r| Some(sorted_key(r)));
        if final_entities.is_empty() && final_relations.is_empty() && (mode != Mode::Mix || vector_chunks.is_empty()) {
            return Ok(no_results(mode, "Query returned no results", progress));
        }

        // Token truncation of entities and relations.
        let entity_ctx: Vec<Value> = final_entities
            .iter()
            .map(|e| {
                json!({
                    "entity": e.get("entity_name").cloned().unwrap_or(Value::Null),
                    "type": e.get("entity_type").cloned().unwrap_or_else(|| "UNKNOWN".into()),
                    "description": e.get("description").cloned().unwrap_or_else(|| "UNKNOWN".into()),
                })
            })
            .collect();
        let mut entity_lines = Lines::new(self.tokenizer.as_ref(), entity_ctx.iter().map(dumps).collect());
        let mut entity_ctx = entity_ctx;
        entity_ctx.truncate(entity_lines.truncate(&vec![""; entity_lines.len()], param.max_entity_tokens));
        let relation_ctx: Vec<Value> = final_relations
            .iter()
            .map(|r| {
                let (a, b) = pair_of(r);
                json!({
                    "entity1": a,
                    "entity2": b,
                    "description": r.get("description").cloned().unwrap_or_else(|| "UNKNOWN".into()),
                })
            })
            .collect();
        let mut relation_lines = Lines::new(self.tokenizer.as_ref(), relation_ctx.iter().map(dumps).collect());
        let mut relation_ctx = relation_ctx;
        relation_ctx.truncate(relation_lines.truncate(&vec![""; relation_lines.len()], param.max_relation_tokens));
        let kept_names: HashSet<&str> = entity_ctx.iter().filter_map(|e| e["entity"].as_str()).collect();
        let filtered_entities: Vec<&Props> =
            dedup_by(final_entities.iter().filter(|e| name_of(e).is_some_and(|n| kept_names.contains(n))), |e| {
                name_of(e).map(str::to_owned)
            });
        let kept_pairs: HashSet<(Value, Value)> =
            relation_ctx.iter().map(|r| (r["entity1"].clone(), r["entity2"].clone())).collect();
        let filtered_relations: Vec<&Props> =
            dedup_by(final_relations.iter().filter(|r| kept_pairs.contains(&pair_of(r))), |r| {
                Some(format!("{:?}", pair_of(r)))
            });

        // Chunks of the entities and relations kept, then the round-robin merge.
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "truncated entities and relations");
        let merged = self.merge_chunks(&filtered_entities, &filtered_relations, vector_chunks, &query_vec).await?;
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "merged chunks");
        if merged.is_empty() && entity_ctx.is_empty() && relation_ctx.is_empty() {
            return Ok(no_results(mode, "Query returned no results", progress));
        }

        // The context.
        let entities_str = entity_ctx.iter().map(dumps).collect::<Vec<_>>().join("\n");
        let relations_str = relation_ctx.iter().map(dumps).collect::<Vec<_>>().join("\n");
        let kg_tokens = crate::lines::kg_context_tokens(
            self.tokenizer.as_ref(),
            (&mut entity_lines, entity_ctx.len(), &entities_str),
            (&mut relation_lines, relation_ctx.len(), &relations_str),
        );
        let user_text = self.effective_user_prompt(param);
        let pre_sys = format(
            prompts::RAG_RESPONSE,
            &[("context_data", ""), ("response_type", response_type(param)), ("user_prompt", &user_text)],
        );
        let available = param.max_total_tokens - (self.count(&pre_sys) + kg_tokens + self.count(query) + 200);
        let merged_count = merged.len();
        if param.enable_rerank && !merged.is_empty() {
            progress.push(RERANKING);
        }
        let kept = self.process_chunks(query, merged, param, available).await;
        tracing::debug!(ms = started.elapsed().as_secs_f64() * 1e3, "truncated chunks");
        let (references, with_refs) = reference_list(&kept);
        let hl_list: Vec<&str> = if hl_str.is_empty() { Vec::new() } else { hl_str.split(", ").collect() };
        let ll_list: Vec<&str> = if ll_str.is_empty() { Vec::new() } else { ll_str.split(", ").collect() };
        let processing = |final_chunks: usize| {
            json!({
                "total_entities_found": final_entities.len(),
                "total_relations_found": final_relations.len(),
                "entities_after_truncation": filtered_entities.len(),
                "relations_after_truncation": filtered_relations.len(),
                "merged_chunks_count": merged_count,
                "final_chunks_count": final_chunks,
            })
        };
        if entity_ctx.is_empty() && relation_ctx.is_empty() && with_refs.is_empty() {
            let mut data = user_format(
                Vec::new(),
                Vec::new(),
                Vec::new(),
                Vec::new(),
                mode,
                "failure",
                "Query returned empty dataset.",
            );
            data["metadata"]["keywords"] = json!({"high_level": hl_list, "low_level": ll_list});
            data["metadata"]["processing_info"] = processing(0);
            return Ok(Retrieval { data, context: String::new(), progress });
        }
        let context = format(
            prompts::KG_QUERY_CONTEXT,
            &[
                ("entities_str", &entities_str),
                ("relations_str", &relations_str),
                ("text_chunks_str", &render_chunks(&with_refs)),
                ("reference_list_str", &render_references(&references)),
            ],
        );
        let by_name: HashMap<&str, &Props> =
            filtered_entities.iter().filter_map(|e| name_of(e).map(|n| (n, *e))).collect();
        let entities: Vec<Value> = entity_ctx
            .iter()
            .map(|ctx| {
                let name = ctx["entity"].clone();
                let o = name.as_str().and_then(|n| by_name.get(n)).copied();
                let get = |k: &str, d: Value| o.and_then(|o| o.get(k).cloned()).unwrap_or(d);
                json!({
                    "entity_name": get("entity_name", name.clone()),
                    "entity_type": get("entity_type", "UNKNOWN".into()),
                    "description": get("description", "".into()),
                    "source_id": get("source_id", "".into()),
                    "file_path": get("file_path", "unknown_source".into()),
                    "created_at": get("created_at", "".into()),
                })
            })
            .collect();
        let by_pair: HashMap<(Value, Value), &Props> = filtered_relations.iter().map(|r| (pair_of(r), *r)).collect();
        let relationships: Vec<Value> = relation_ctx
            .iter()
            .map(|ctx| {
                let (a, b) = (ctx["entity1"].clone(), ctx["entity2"].clone());
                let o = by_pair.get(&(a.clone(), b.clone())).copied();
                let get = |k: &str, d: Value| o.and_then(|o| o.get(k).cloned()).unwrap_or(d);
                json!({
                    "src_id": get("src_id", a.clone()),
                    "tgt_id": get("tgt_id", b.clone()),
                    "description": get("description", "".into()),
                    "keywords": get("keywords", "".into()),
                    "weight": get("weight", json!(1.0)),
                    "source_id": get("source_id", "".into()),
                    "file_path": get("file_path", "unknown_source".into()),
                    "created_at": get("created_at", "".into()),
                })
            })
            .collect();
        let mut data = user_format(
            entities,
            relationships,
            chunk_values(&with_refs),
            references,
            mode,
            "success",
            "Query processed successfully",
        );
        data["metadata"]["keywords"] = json!({"high_level": hl_list, "low_level": ll_list});
        data["metadata"]["processing_info"] = processing(with_refs.len());
        Ok(Retrieval { data, context, progress })
    }

    /// LightRAG's `extract_keywords_only`: the cached extraction when there
    /// is one, else the LLM's, cached as Python caches it.
    async fn extract_keywords(
        &self,
        query: &str,
        param: &QueryParam,
    ) -> Result<(Vec<String>, Vec<String>), QueryError> {
        let mode = param.mode.as_str();
        let id = self.keyword_cache.cache_id(mode, query);
        if self.llm_cache {
            match self.store.llm_cache(&id).await?.map(|reply| crate::keywords::parse(&reply)) {
                Some(Some(found)) => return Ok(found),
                Some(None) => tracing::warn!(%id, "invalid cache format for keywords, proceeding with extraction"),
                None => {}
            }
        }
        let Some(llm) = &self.llm else {
            return Err(QueryError::NoKeywords { mode: mode.to_owned(), cache_id: id });
        };
        let prompt = format(
            prompts::KEYWORDS_EXTRACTION,
            &[
                ("query", query),
                ("examples", prompts::KEYWORDS_EXTRACTION_EXAMPLES),
                ("language", self.keyword_cache.language()),
            ],
        );
        let reply = llm.complete(&ChatRequest::new(prompt).json_object()).await?;
        let (hl, ll) = crate::keywords::parse(&reply.text).unwrap_or_default();
        // A reply cut at the token limit may miss keywords: not cached.
        if (!hl.is_empty() || !ll.is_empty()) && self.llm_cache && !reply.truncated {
            let queryparam = cache_queryparam(param);
            let reply = crate::keywords::cached_reply(&hl, &ll);
            self.save_to_cache(&id, &reply, query, "keywords", queryparam).await?;
        }
        Ok((hl, ll))
    }

    /// LightRAG's `save_to_cache` over `PGKVStorage`: the entry `id` of
    /// `lightrag_llm_cache` (`return_value`, `original_prompt`, `cache_type`,
    /// `chunk_id` null, `queryparam`), on the primary; an entry with the same
    /// reply is left alone.
    pub(crate) async fn save_to_cache(
        &self,
        id: &str,
        reply: &str,
        prompt: &str,
        cache_type: &str,
        queryparam: Value,
    ) -> Result<(), QueryError> {
        if reply.is_empty() {
            return Ok(());
        }
        let kv = lightrag_pg_kv::PgKvStorage::new(
            self.store.pools.write().clone(),
            KvNamespace::LlmResponseCache,
            self.store.ws.clone(),
        )?;
        self.cache_table.get_or_try_init(|| kv.initialize()).await?;
        if self.store.llm_cache(id).await?.as_deref() == Some(reply) {
            tracing::debug!(%id, "identical cache entry present; not rewritten");
            return Ok(());
        }
        let entry: Map<String, Value> = [
            ("return", json!(reply)),
            ("cache_type", json!(cache_type)),
            ("chunk_id", Value::Null),
            ("original_prompt", json!(prompt)),
            ("queryparam", queryparam),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        tracing::info!(%id, "LLM cache: saving");
        kv.upsert(vec![(id.to_owned(), entry)]).await?;
        Ok(())
    }

    /// `_merge_all_chunks`: entity chunks, relation chunks, and the round-robin
    /// merge with the vector chunks.
    async fn merge_chunks(
        &self,
        entities: &[&Props],
        relations: &[&Props],
        vector_chunks: Vec<VectorChunk>,
        query_vec: &[f32],
    ) -> Result<Vec<Chunk>, QueryError> {
        let source_lists = |items: &[&Props]| -> Vec<Vec<String>> {
            items
                .iter()
                .filter_map(|p| p.get("source_id").and_then(Value::as_str).filter(|s| !s.is_empty()))
                .map(split_sep)
                .filter(|c| !c.is_empty())
                .collect()
        };
        let entity_lists = source_lists(entities);
        let relation_lists = source_lists(relations);
        let mut all: Vec<String> = entity_lists.iter().chain(&relation_lists).flatten().cloned().collect();
        all.sort();
        all.dedup();
        let vector_pick = self.settings.kg_chunk_pick_method == ChunkPickMethod::Vector;
        let rows = if all.is_empty() { Default::default() } else { self.store.chunks(&all, vector_pick).await? };
        let related = self.settings.related_chunk_number;
        let pick = |owners: &[crate::select::Owner]| -> Vec<String> {
            let mut selected = Vec::new();
            if vector_pick {
                let num = (related * owners.len()) / 2;
                selected = vector_similarity(owners, num, query_vec, &rows.vectors);
            }
            if selected.is_empty() {
                selected = weighted_polling(owners, related, 1);
            }
            let mut seen = HashSet::new();
            selected.retain(|c| seen.insert(c.clone()));
            selected
        };
        let fetch = |ids: Vec<String>| -> Vec<Chunk> {
            ids.into_iter()
                .filter_map(|id| {
                    rows.text.get(&id).map(|(content, fp)| Chunk {
                        id,
                        content: content.clone(),
                        file_path: fp.clone(),
                        rerank_score: None,
                    })
                })
                .collect()
        };
        let entity_chunks = if entity_lists.is_empty() {
            Vec::new()
        } else {
            let (o, _) = owners(entity_lists, &HashSet::new(), false);
            fetch(pick(&o))
        };
        let relation_chunks = if relation_lists.is_empty() {
            Vec::new()
        } else {
            let taken: HashSet<String> = entity_chunks.iter().map(|c| c.id.clone()).collect();
            let (o, _) = owners(relation_lists, &taken, true);
            if o.is_empty() { Vec::new() } else { fetch(pick(&o)) }
        };
        let vector: Vec<Chunk> = vector_chunks.into_iter().map(Chunk::from).collect();
        let mut merged = Vec::new();
        let mut seen = HashSet::new();
        let longest = vector.len().max(entity_chunks.len()).max(relation_chunks.len());
        for i in 0..longest {
            for list in [&vector, &entity_chunks, &relation_chunks] {
                if let Some(c) = list.get(i)
                    && !c.id.is_empty()
                    && seen.insert(c.id.clone())
                {
                    merged.push(c.clone());
                }
            }
        }
        Ok(merged)
    }

    /// `process_chunks_unified`: with `enable_rerank`, the rerank model's order
    /// (`top_n` = `chunk_top_k`, else all) and the `MIN_RERANK_SCORE` filter;
    /// `chunk_top_k`; then the two-stage token truncation (`{"content"}`
    /// items, then the rendered `{"reference_id", "content"}` items), each
    /// chunk encoded once.
    async fn process_chunks(&self, query: &str, mut chunks: Vec<Chunk>, param: &QueryParam, limit: i64) -> Vec<Chunk> {
        if chunks.is_empty() {
            return chunks;
        }
        if param.enable_rerank && !query.is_empty() {
            let top_n = if param.chunk_top_k > 0 { param.chunk_top_k } else { chunks.len() };
            chunks = self.rerank(query, chunks, top_n).await;
        }
        let min_score = self.settings.min_rerank_score;
        if param.enable_rerank && min_score > 0.0 {
            // LightRAG: a chunk the reranker did not score counts as 1.0.
            chunks.retain(|c| c.rerank_score.unwrap_or(1.0) >= min_score);
            if chunks.is_empty() {
                return chunks;
            }
        }
        if param.chunk_top_k > 0 && chunks.len() > param.chunk_top_k {
            chunks.truncate(param.chunk_top_k);
        }
        if limit <= 0 {
            return Vec::new();
        }
        let tails: Vec<String> =
            chunks.iter().map(|c| dumps(&json!({"content": c.content}))[CONTENT_HEAD.len()..].to_owned()).collect();
        let mut lines = Lines::new(self.tokenizer.as_ref(), tails);
        let mut k = lines.truncate(&vec![CONTENT_HEAD; chunks.len()], limit);
        while k > 0 {
            let (_, with_refs) = reference_list(&chunks[..k]);
            let heads: Vec<String> = with_refs
                .iter()
                .map(|(_, r)| format!("{{\"reference_id\": {}, \"content\":", dumps(&json!(r))))
                .collect();
            let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
            if i64::try_from(lines.count_join(&heads, k)).unwrap_or(i64::MAX) <= limit {
                break;
            }
            k -= 1;
        }
        chunks.truncate(k);
        chunks
    }
}

/// LightRAG's `QueryProgress.EXTRACTING_KEYWORDS`.
pub(crate) const EXTRACTING_KEYWORDS: &str = "extracting_keywords";
/// LightRAG's `QueryProgress.RETRIEVING_ENTITIES`.
pub(crate) const RETRIEVING_ENTITIES: &str = "retrieving_entities";
/// LightRAG's `QueryProgress.RETRIEVING_RELATIONS`.
pub(crate) const RETRIEVING_RELATIONS: &str = "retrieving_relations";
/// LightRAG's `QueryProgress.RETRIEVING_CHUNKS`.
pub(crate) const RETRIEVING_CHUNKS: &str = "retrieving_chunks";
/// LightRAG's `QueryProgress.RERANKING`, sent by `process_chunks_unified`
/// whenever `enable_rerank` is on and there are chunks (with or without a
/// rerank model).
pub(crate) const RERANKING: &str = "reranking";
/// LightRAG's `QueryProgress.GENERATING_RESPONSE`.
pub(crate) const GENERATING_RESPONSE: &str = "generating_response";
impl Retriever {
    /// `apply_rerank_if_enabled`: the chunks in the rerank model's order, each
    /// with its score; in their own order, unscored, when no model is
    /// configured, when it fails or when it returns nothing usable.
    async fn rerank(&self, query: &str, chunks: Vec<Chunk>, top_n: usize) -> Vec<Chunk> {
        let Some(reranker) = &self.reranker else {
            return chunks;
        };
        let documents: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
        let results = match reranker.rerank(query, &documents, Some(top_n)).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "rerank failed; using the chunks in their order");
                return chunks;
            }
        };
        let reranked: Vec<Chunk> = results
            .iter()
            .filter(|r| r.index < chunks.len() && r.relevance_score.is_finite())
            .map(|r| Chunk { rerank_score: Some(r.relevance_score), ..chunks[r.index].clone() })
            .collect();
        if reranked.is_empty() {
            tracing::warn!("rerank returned no usable results; using the chunks in their order");
            return chunks;
        }
        tracing::debug!(reranked = reranked.len(), of = chunks.len(), "reranked chunks");
        reranked
    }
}

/// `tokenizer` behind the cache of the texts every query encodes again.
fn cached(tokenizer: Arc<dyn Tokenizer>) -> Arc<dyn Tokenizer> {
    Arc::new(CachedTokenizer::new(tokenizer, DEFAULT_CAPACITY_BYTES))
}

/// How `json.dumps({"content": …})` begins: the head of a chunk's first rendering.
const CONTENT_HEAD: &str = "{\"content\":";

/// The `queryparam` LightRAG stores with a keyword or answer cache entry
/// (the fields both have; JSONB keeps no key order).
pub(crate) fn cache_queryparam(param: &QueryParam) -> Value {
    json!({
        "mode": param.mode.as_str(),
        "response_type": param.response_type,
        "top_k": param.top_k,
        "chunk_top_k": param.chunk_top_k,
        "max_entity_tokens": param.max_entity_tokens,
        "max_relation_tokens": param.max_relation_tokens,
        "max_total_tokens": param.max_total_tokens,
        "user_prompt": param.user_prompt.as_deref().unwrap_or(""),
        "enable_rerank": param.enable_rerank,
    })
}

pub(crate) fn response_type(param: &QueryParam) -> &str {
    if param.response_type.is_empty() { "Multiple Paragraphs" } else { &param.response_type }
}

fn name_of(e: &Props) -> Option<&str> {
    e.get("entity_name").and_then(Value::as_str)
}

/// `(entity1, entity2)` of a relation: `src_tgt` (local) or `(src_id, tgt_id)`.
fn pair_of(r: &Props) -> (Value, Value) {
    match r.get("src_tgt").and_then(Value::as_array) {
        Some(p) if p.len() == 2 => (p[0].clone(), p[1].clone()),
        _ => (r.get("src_id").cloned().unwrap_or(Value::Null), r.get("tgt_id").cloned().unwrap_or(Value::Null)),
    }
}

/// The relation's unordered pair, as a key.
fn sorted_key(r: &Props) -> String {
    let (a, b) = pair_of(r);
    let (a, b) = (a.as_str().unwrap_or_default().to_owned(), b.as_str().unwrap_or_default().to_owned());
    if a <= b { format!("{a}\u{0}{b}") } else { format!("{b}\u{0}{a}") }
}

fn dedup_by<'a>(items: impl Iterator<Item = &'a Props>, key: impl Fn(&Props) -> Option<String>) -> Vec<&'a Props> {
    let mut seen = HashSet::new();
    items.filter(|p| key(p).is_some_and(|k| seen.insert(k))).collect()
}

/// LightRAG's round-robin merge, first from the local list, then the global
/// one, keeping the first of each key.
fn round_robin(a: Vec<Props>, b: Vec<Props>, key: impl Fn(&Props) -> Option<String>) -> Vec<Props> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    loop {
        let (x, y) = (a.next(), b.next());
        if x.is_none() && y.is_none() {
            break;
        }
        for item in [x, y].into_iter().flatten() {
            if let Some(k) = key(&item)
                && seen.insert(k)
            {
                out.push(item);
            }
        }
    }
    out
}

/// `_get_node_data` and `_find_most_related_edges_from_entities`.
fn local_data(rows: crate::fetch::LocalRows) -> (Vec<Props>, Vec<Props>) {
    let degrees: HashMap<&str, i64> = rows.nodes.iter().map(|(n, _, _, d)| (n.as_str(), *d)).collect();
    let mut entities = Vec::with_capacity(rows.nodes.len());
    for (name, created_at, props, degree) in &rows.nodes {
        let mut e = props.clone();
        e.insert("entity_name".into(), json!(name));
        e.insert("rank".into(), json!(degree));
        e.insert("created_at".into(), created_at.map_or(Value::Null, |c| json!(c)));
        entities.push(e);
    }
    let mut seen = HashSet::new();
    let mut relations = Vec::new();
    for (name, ..) in &rows.nodes {
        let seed_degree = degrees.get(name.as_str()).copied().unwrap_or(0);
        for (other, props, other_degree) in rows.edges.get(name).map(Vec::as_slice).unwrap_or_default() {
            let (lo, hi) = if name <= other { (name, other) } else { (other, name) };
            if !seen.insert((lo.clone(), hi.clone())) {
                continue;
            }
            let Some(props) = props else { continue };
            let mut r = Map::new();
            r.insert("src_tgt".into(), json!([lo, hi]));
            r.insert("rank".into(), json!(seed_degree + other_degree));
            for (k, v) in props {
                r.insert(k.clone(), v.clone());
            }
            if !r.contains_key("weight") {
                r.insert("weight".into(), json!(1.0));
            }
            relations.push(r);
        }
    }
    let key = |r: &Props| {
        let rank = r.get("rank").and_then(Value::as_i64).unwrap_or(0);
        let weight = r.get("weight").and_then(Value::as_f64).unwrap_or(0.0);
        (rank, weight)
    };
    // sorted(..., key=(rank, weight), reverse=True): stable, descending.
    relations.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        kb.0.cmp(&ka.0).then(kb.1.total_cmp(&ka.1))
    });
    (entities, relations)
}

/// `_get_edge_data` and `_find_most_related_entities_from_relationships`.
fn global_data(rows: crate::fetch::GlobalRows) -> (Vec<Props>, Vec<Props>) {
    let mut relations = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (src, tgt, created_at, props) in rows.relations {
        let Some(props) = props else { continue };
        let mut r = Map::new();
        r.insert("src_id".into(), json!(src));
        r.insert("tgt_id".into(), json!(tgt));
        r.insert("created_at".into(), created_at.map_or(Value::Null, |c| json!(c)));
        for (k, v) in props {
            r.insert(k, v);
        }
        if !r.contains_key("weight") {
            r.insert("weight".into(), json!(1.0));
        }
        for n in [&src, &tgt] {
            if seen.insert(n.clone()) {
                names.push(n.clone());
            }
        }
        relations.push(r);
    }
    let entities = names
        .into_iter()
        .filter_map(|n| {
            rows.nodes.get(&n).map(|p| {
                let mut e = p.clone();
                e.insert("entity_name".into(), json!(n));
                e
            })
        })
        .collect();
    (relations, entities)
}

/// `generate_reference_list_from_chunks`: references by frequency, then first
/// appearance; each chunk with its `reference_id`.
fn reference_list(chunks: &[Chunk]) -> (Vec<Value>, Vec<(Chunk, String)>) {
    let valid =
        |fp: &Option<String>| fp.as_deref().filter(|f| !f.is_empty() && *f != "unknown_source").map(str::to_owned);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for c in chunks {
        if let Some(fp) = valid(&c.file_path) {
            *counts.entry(fp).or_insert(0) += 1;
        }
    }
    let mut order: Vec<(String, usize, usize)> = Vec::new();
    let mut seen = HashSet::new();
    for (i, c) in chunks.iter().enumerate() {
        if let Some(fp) = valid(&c.file_path)
            && seen.insert(fp.clone())
        {
            let n = counts[&fp];
            order.push((fp, n, i));
        }
    }
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let ids: HashMap<&str, String> =
        order.iter().enumerate().map(|(i, (fp, ..))| (fp.as_str(), (i + 1).to_string())).collect();
    let with = chunks
        .iter()
        .map(|c| {
            let r = valid(&c.file_path).and_then(|fp| ids.get(fp.as_str()).cloned()).unwrap_or_default();
            (c.clone(), r)
        })
        .collect();
    let refs = order
        .iter()
        .enumerate()
        .map(|(i, (fp, ..))| json!({"reference_id": (i + 1).to_string(), "file_path": fp}))
        .collect();
    (refs, with)
}

/// `render_chunks_context_text`.
fn render_chunks(chunks: &[(Chunk, String)]) -> String {
    chunks.iter().map(|(c, r)| dumps(&json!({"reference_id": r, "content": c.content}))).collect::<Vec<_>>().join("\n")
}

fn render_references(refs: &[Value]) -> String {
    refs.iter()
        .filter(|r| r["reference_id"].as_str().is_some_and(|s| !s.is_empty()))
        .map(|r| {
            format!(
                "[{}] {}",
                r["reference_id"].as_str().unwrap_or_default(),
                r["file_path"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn chunk_values(chunks: &[(Chunk, String)]) -> Vec<Value> {
    chunks
        .iter()
        .map(|(c, r)| {
            json!({
                "reference_id": r,
                "content": c.content,
                "file_path": c.file_path,
                "chunk_id": c.id,
            })
        })
        .collect()
}

/// `convert_to_user_format` (entities and relationships already formatted).
fn user_format(
    entities: Vec<Value>,
    relationships: Vec<Value>,
    chunks: Vec<Value>,
    references: Vec<Value>,
    mode: Mode,
    status: &str,
    message: &str,
) -> Value {
    json!({
        "status": status,
        "message": message,
        "data": {"entities": entities, "relationships": relationships, "chunks": chunks, "references": references},
        "metadata": {"query_mode": mode.as_str(), "keywords": {"high_level": [], "low_level": []}},
    })
}

/// `aquery_data`'s answer when the query found nothing.
fn no_results(mode: Mode, message: &str, progress: Vec<&'static str>) -> Retrieval {
    Retrieval {
        progress,
        data: json!({
            "status": "failure",
            "message": message,
            "data": {},
            "metadata": {"failure_reason": "no_results", "mode": mode.as_str()},
        }),
        context: String::new(),
    }
}
