//! Local model endpoints for tests, standing in for an embedding or rerank
//! service: [`json_endpoint`] answers every `POST` with what a handler makes
//! of its JSON body; [`embedding_endpoint`] is an OpenAI-compatible
//! `…/embeddings`, [`rerank_endpoint`] a Cohere/Jina/Aliyun `…/rerank`.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// A running [`json_endpoint`]: its URL and the bodies it was sent.
#[derive(Debug, Clone)]
pub struct JsonEndpoint {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl JsonEndpoint {
    /// The JSON bodies received so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Starts an HTTP endpoint on 127.0.0.1 (a thread per connection, for the
/// life of the process) answering every request with `handler(body)`: a
/// status and a JSON body.
pub fn json_endpoint(handler: impl Fn(&Value) -> (u16, Value) + Send + Sync + 'static) -> JsonEndpoint {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (handler, seen) = (handler.clone(), seen.clone());
            std::thread::spawn(move || {
                let (_, request) = crate::llm::read_request(&stream);
                if let Ok(mut r) = seen.lock() {
                    r.push(request.clone());
                }
                let (status, reply) = handler(&request);
                let out = reply.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
            });
        }
    });
    JsonEndpoint { url, requests }
}

/// Starts an OpenAI-compatible embedding endpoint and returns its base URL
/// (`http://127.0.0.1:PORT/v1`, the value of `EMBEDDING_BINDING_HOST`).
/// Every request gets `dim`-dimensional vectors `[1, 0, 0, …]`, one per
/// input text, after `delay`: every stored vector is at the same distance
/// from them.
pub fn embedding_endpoint(dim: usize, delay: Duration) -> String {
    let endpoint = json_endpoint(move |request| {
        let texts = request["input"].as_array().map_or(1, Vec::len);
        let mut v = vec![0.0f32; dim];
        v[0] = 1.0;
        let data: Vec<Value> = (0..texts).map(|i| json!({"index": i, "embedding": v})).collect();
        std::thread::sleep(delay);
        (200, json!({"object": "list", "data": data}))
    });
    format!("{}/v1", endpoint.url)
}

/// Starts a rerank endpoint that reverses the order: of `n` documents, the
/// one at index `i` scores `(i + 1) / n`, results best first, cut to `top_n`
/// when asked. It reads Cohere's and Jina's request (`documents`) and
/// Aliyun's (`input.documents`, `parameters.top_n`), and answers in the same
/// shape (`results`, or `output.results`).
pub fn rerank_endpoint() -> JsonEndpoint {
    json_endpoint(|request| {
        let aliyun = request.get("input").is_some();
        let (docs, top_n) = if aliyun {
            (&request["input"]["documents"], &request["parameters"]["top_n"])
        } else {
            (&request["documents"], &request["top_n"])
        };
        let n = docs.as_array().map_or(0, Vec::len);
        let mut results: Vec<Value> =
            (0..n).rev().map(|i| json!({"index": i, "relevance_score": (i + 1) as f64 / n as f64})).collect();
        if let Some(k) = top_n.as_u64() {
            results.truncate(usize::try_from(k).unwrap_or(usize::MAX));
        }
        let body = if aliyun { json!({"output": {"results": results}}) } else { json!({"results": results}) };
        (200, body)
    })
}
