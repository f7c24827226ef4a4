//! Query planning: the query vector (given, or embedded from text), the
//! distance cut-off for LightRAG's threshold, and the session settings that make
//! the index in use return complete results (`ef_search`, `probes`, iterative
//! scans), sent with the search in one round trip.

use std::sync::atomic::Ordering;

use lightrag_pg_core::{DistanceMetric, Error, Result, VectorQuery};
use lightrag_pg_pool::db_error;
use lightrag_pg_pool::ddl::VectorIndex;
use postgres_types::ToSql;

use crate::codec::VecParam;
use crate::config::MAX_EF_SEARCH;
use crate::table::{PgVectorStorage, State};

/// The largest distance a hit may have: `similarity(distance) > threshold`
/// solved for the distance (cosine: LightRAG's `1 - threshold`).
pub(crate) fn distance_cutoff(metric: DistanceMetric, threshold: f64) -> f64 {
    match metric {
        DistanceMetric::Cosine => 1.0 - threshold,
        DistanceMetric::L2 if threshold <= 0.0 => f64::INFINITY,
        DistanceMetric::L2 => 1.0 / threshold - 1.0,
        DistanceMetric::Ip => -threshold,
    }
}

impl PgVectorStorage {
    pub(crate) async fn query_vector(&self, state: &State, query: &VectorQuery) -> Result<Vec<f32>> {
        let v = match (&query.embedding, &query.text) {
            (Some(v), _) => v.clone(),
            (None, Some(text)) => {
                let Some(embedder) = self.embedder() else {
                    return Err(Error::invalid("query", "a text query needs an embedder; none is configured"));
                };
                let mut out = embedder.embed(std::slice::from_ref(text)).await?;
                if out.len() != 1 {
                    return Err(Error::invalid(
                        "query",
                        format!("the embedder returned {} vectors for 1 text", out.len()),
                    ));
                }
                out.remove(0)
            }
            (None, None) => {
                return Err(Error::invalid("query", "the query has neither a vector nor a text"));
            }
        };
        if v.len() != self.plan().dimension {
            return Err(Error::DimensionMismatch { id: None, expected: self.plan().dimension, got: v.len() });
        }
        self.check_vector(state, "query", &v)?;
        Ok(v)
    }

    /// The `set_config` calls a query needs for the index in use.
    fn query_settings(&self, state: &State, top_k: usize) -> Option<(&'static str, Vec<String>)> {
        let index = if state.index_ready.load(Ordering::Acquire) { self.plan().index } else { VectorIndex::None };
        let mode = "relaxed_order".to_owned();
        let ef = u32::try_from(top_k).unwrap_or(u32::MAX).max(self.config().ef_search).min(MAX_EF_SEARCH);
        match (index, state.iterative_scan && self.config().iterative_scan) {
            (VectorIndex::Hnsw { .. }, iterative) => Some(if iterative {
                (
                    "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)",
                    vec![ef.to_string(), mode],
                )
            } else {
                ("SELECT set_config('hnsw.ef_search', $1, true)", vec![ef.to_string()])
            }),
            (VectorIndex::IvfFlat { .. }, iterative) => {
                let probes = self.config().ivfflat_probes.to_string();
                Some(if iterative {
                    (
                        "SELECT set_config('ivfflat.probes', $1, true), set_config('ivfflat.iterative_scan', $2, true)",
                        vec![probes, mode],
                    )
                } else {
                    ("SELECT set_config('ivfflat.probes', $1, true)", vec![probes])
                })
            }
            // Exact search planned, but the table may carry another
            // configuration's ANN index (one table serves every metric and
            // index kind of a model), which the planner may pick: make such a
            // scan complete too.
            (VectorIndex::None, true) => Some((
                "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true), \
                 set_config('ivfflat.iterative_scan', $2, true)",
                vec![ef.to_string(), mode],
            )),
            (VectorIndex::None, false) => Some(("SELECT set_config('hnsw.ef_search', $1, true)", vec![ef.to_string()])),
        }
    }

    pub(crate) async fn search_once(
        &self,
        state: &State,
        sql: &str,
        v: &[f32],
        limit: i64,
        cutoff: f64,
        top_k: usize,
    ) -> Result<Vec<tokio_postgres::Row>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(sql).await?;
        let ws = self.ws().as_str();
        let vp = VecParam(v);
        let params: [&(dyn ToSql + Sync); 4] = [&ws, &vp, &limit, &cutoff];
        let Some((set_sql, values)) = self.query_settings(state, top_k) else {
            return conn.query(&stmt, &params).await.map_err(db_error);
        };
        let set = conn.prepare_cached(set_sql).await?;
        let set_params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        // One round trip: BEGIN, the settings (SET LOCAL via set_config), the
        // search and COMMIT are pipelined. COMMIT after a failure rolls back.
        let (begin, settings, rows, commit) = tokio::join!(
            conn.batch_execute("BEGIN"),
            conn.query(&set, &set_params),
            conn.query(&stmt, &params),
            conn.batch_execute("COMMIT"),
        );
        begin.map_err(db_error)?;
        settings.map_err(db_error)?;
        let rows = rows.map_err(db_error)?;
        commit.map_err(db_error)?;
        Ok(rows)
    }

    /// The server's plan for a query, with the same session settings a real query
    /// uses (`EXPLAIN`, not executed): shows whether the ANN index serves it. For
    /// the doctor and for tests.
    ///
    /// # Errors
    /// As [`lightrag_pg_core::VectorStorage::query`].
    pub async fn explain(&self, query: &VectorQuery) -> Result<Vec<String>> {
        let state = self.state().await?;
        let v = self.query_vector(state, query).await?;
        let threshold = query.threshold.unwrap_or(self.config().cosine_better_than_threshold);
        let cutoff = distance_cutoff(self.plan().metric, threshold);
        let limit = i64::try_from(query.top_k.max(1)).unwrap_or(i64::MAX);
        let sql = format!("EXPLAIN {}", state.sql.query);
        let rows = self.search_once(state, &sql, &v, limit, cutoff, query.top_k).await?;
        rows.iter().map(|r| r.try_get::<_, String>(0).map_err(db_error)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_cutoff_is_lightrags_one_minus_threshold() {
        assert_eq!(distance_cutoff(DistanceMetric::Cosine, 0.2), 0.8);
        assert_eq!(distance_cutoff(DistanceMetric::Ip, 0.5), -0.5);
        assert_eq!(distance_cutoff(DistanceMetric::L2, 0.0), f64::INFINITY);
        assert!((distance_cutoff(DistanceMetric::L2, 0.25) - 3.0).abs() < 1e-12);
        // The cutoff agrees with similarity(): a distance just inside passes.
        for m in [DistanceMetric::Cosine, DistanceMetric::L2, DistanceMetric::Ip] {
            let c = distance_cutoff(m, 0.3);
            assert!(m.similarity(c - 1e-6) > 0.3, "{m:?}");
        }
    }
}
