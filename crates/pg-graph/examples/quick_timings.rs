//! Quick timings of the hot read paths on both engines (not a benchmark: one
//! graph, a few repetitions, medians). Seeds `NODES` nodes and `3 × NODES` edges
//! in a fresh workspace per engine, times the calls, and cleans up.
//!
//! ```text
//! POSTGRES_HOST=... cargo run -p lightrag-pg-graph --example quick_timings -- 5000
//! ```

use std::time::{Duration, Instant};

use lightrag_pg_core::{Properties, Result, Storage, testkit};
use lightrag_pg_graph::{AgeGraphStorage, GraphEngine, PgGraphStorage};
use lightrag_pg_pool::{PgConfig, PgPool};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn time<T, F, Fut>(reps: usize, mut f: F) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    f().await?; // warm-up: prepares statements
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f().await?;
        v.push(t.elapsed());
    }
    Ok(median(v))
}

fn node(i: usize) -> String {
    format!("entity-{i:06}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5_000);
    let mut config = PgConfig::from_env()?;
    config.max_connections = 4;
    let pool = PgPool::connect(config).await?;
    for engine in [GraphEngine::Table, GraphEngine::Age] {
        let ws = testkit::unique_workspace("gtime");
        let s = PgGraphStorage::new(pool.clone(), ws, engine)?;
        let g = s.as_dyn();
        g.initialize().await?;
        let t = Instant::now();
        let nodes = (0..n)
            .map(|i| {
                (
                    node(i),
                    Properties::new().with("entity_type", "thing").with("description", format!("node {i} description")),
                )
            })
            .collect();
        g.upsert_nodes_batch(nodes).await?;
        let t_nodes = t.elapsed();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap_or(0)
        };
        let edges: Vec<(String, String, Properties)> = (0..3 * n)
            .map(|i| (node(i % n), node(next()), Properties::new().with("weight", 1.0).with("description", "rel")))
            .collect();
        let t = Instant::now();
        g.upsert_edges_batch(edges).await?;
        let t_edges = t.elapsed();
        let conn = pool.get().await?;
        if let PgGraphStorage::Age(a) = &s {
            let q = lightrag_pg_pool::ident::quote_ident(a.graph_name())?;
            conn.batch_execute(&format!("ANALYZE {q}.base; ANALYZE {q}.\"DIRECTED\""))
                .await
                .map_err(lightrag_pg_pool::db_error)?;
        } else {
            conn.batch_execute("ANALYZE lightrag_graph_nodes; ANALYZE lightrag_graph_edges")
                .await
                .map_err(lightrag_pg_pool::db_error)?;
        }
        drop(conn);
        let ids: Vec<String> = (0..1000).map(|i| node(i * n / 1000)).collect();
        let reps = 15;
        let get_nodes = time(reps, || g.get_nodes_batch(&ids)).await?;
        let degrees = time(reps, || g.node_degrees_batch(&ids)).await?;
        let edges_of = time(reps, || g.get_nodes_edges_batch(&ids)).await?;
        let pairs: Vec<(String, String)> = (0..1000).map(|i| (node(i), node((i * 7) % n))).collect();
        let get_edges = time(reps, || g.get_edges_batch(&pairs)).await?;
        let (seed, n17) = (node(0), node(17));
        let kg = time(5, || g.get_knowledge_graph(&seed, 3, 1000)).await?;
        let star = time(5, || g.get_knowledge_graph("*", 3, 1000)).await?;
        let one = time(reps, || g.get_node(&n17)).await?;
        let popular = time(5, || g.get_popular_labels(300)).await?;
        let search = time(5, || g.search_labels("entity-0042", 50)).await?;
        let kgv = g.get_knowledge_graph(&node(0), 3, 1000).await?;
        tracing_free_print(&format!(
            "{engine:5} n={n} edges={} | seed nodes {:?} edges {:?} | 1000 ids: get_nodes_batch {:?}, node_degrees_batch {:?}, \
             get_nodes_edges_batch {:?}, get_edges_batch(1000 pairs) {:?} | get_node {:?} | kg(depth 3, max 1000) {:?} \
             ({} nodes, {} edges, truncated {}) | kg('*', 1000) {:?} | popular(300) {:?} | search {:?}",
            3 * n,
            t_nodes,
            t_edges,
            get_nodes,
            degrees,
            edges_of,
            get_edges,
            one,
            kg,
            kgv.nodes.len(),
            kgv.edges.len(),
            kgv.is_truncated,
            star,
            popular,
            search
        ));
        if std::env::var_os("KEEP").is_some() {
            continue;
        }
        match s {
            PgGraphStorage::Age(a) => drop_age(a).await?,
            PgGraphStorage::Table(t) => t.drop_all().await?,
        }
    }
    Ok(())
}

async fn drop_age(a: AgeGraphStorage) -> Result<()> {
    a.drop_graph().await
}

#[allow(clippy::print_stdout)]
fn tracing_free_print(s: &str) {
    println!("{s}");
}
