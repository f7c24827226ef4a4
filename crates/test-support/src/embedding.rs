//! A local OpenAI-compatible embedding endpoint for tests: `POST …/embeddings`
//! answered with a fixed unit vector per input text, after a delay.

use std::io::Write;
use std::net::TcpListener;
use std::time::Duration;

use serde_json::{Value, json};

/// Starts the endpoint on 127.0.0.1 (a thread per connection, for the life
/// of the process) and returns its base URL (`http://127.0.0.1:PORT/v1`, the
/// value of `EMBEDDING_BINDING_HOST`). Every request gets `dim`-dimensional
/// vectors `[1, 0, 0, …]`, one per input text, after `delay`: every stored
/// vector is at the same distance from them.
pub fn embedding_endpoint(dim: usize, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let (_, request) = crate::llm::read_request(&stream);
                let texts = request["input"].as_array().map_or(1, Vec::len);
                let mut v = vec![0.0f32; dim];
                v[0] = 1.0;
                let data: Vec<Value> = (0..texts).map(|i| json!({"index": i, "embedding": v})).collect();
                let out = json!({"object": "list", "data": data}).to_string();
                std::thread::sleep(delay);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
            });
        }
    });
    url
}
