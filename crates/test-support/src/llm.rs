//! A local LLM endpoint for tests, speaking both bindings LightRAG's servers
//! use most: OpenAI-compatible `POST …/chat/completions` (streamed as
//! server-sent events) and Ollama's `POST …/api/chat` (streamed as NDJSON).
//! It records every request and answers with a function of it, or with a
//! fixed error status.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// How the endpoint answers a request body.
pub type Reply = Arc<dyn Fn(&Value) -> String + Send + Sync>;

/// The running endpoint.
#[derive(Clone)]
pub struct LlmEndpoint {
    /// The base URL (`http://127.0.0.1:PORT/v1`): `LLM_BINDING_HOST` for
    /// `openai`; for `ollama` use [`LlmEndpoint::ollama_host`].
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl std::fmt::Debug for LlmEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmEndpoint").field("url", &self.url).finish_non_exhaustive()
    }
}

/// Reads one HTTP/1.1 request: its path and its JSON body.
pub(crate) fn read_request(stream: &TcpStream) -> (String, Value) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut length = 0usize;
    let mut path = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if path.is_empty() {
            path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    (path, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The text of the last user message of a chat request.
pub fn user_prompt(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Splits `text` into the pieces a stream sends (at most 3 characters each).
fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(3).map(|c| c.iter().collect()).collect()
}

impl LlmEndpoint {
    /// Starts the endpoint (a thread per connection, for the life of the
    /// process): each request is recorded, then answered with `reply(body)`
    /// after `delay` — or, with `status`, with that error status.
    pub fn start(reply: Reply, delay: Duration, status: Option<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/v1", listener.local_addr().expect("address"));
        let requests: Arc<Mutex<Vec<Value>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (reply, seen) = (reply.clone(), seen.clone());
                std::thread::spawn(move || {
                    let (path, request) = read_request(&stream);
                    seen.lock().expect("lock").push(request.clone());
                    std::thread::sleep(delay);
                    if let Some(status) = status {
                        let out = json!({"error": {"message": "stand-in failure"}}).to_string();
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} Failure\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                            out.len()
                        );
                        return;
                    }
                    let text = reply(&request);
                    let ollama = path.ends_with("/api/chat");
                    if request["stream"] == true {
                        let kind = if ollama { "application/x-ndjson" } else { "text/event-stream" };
                        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nConnection: close\r\n\r\n");
                        for p in pieces(&text) {
                            let line = if ollama {
                                format!("{}\n", json!({"message": {"role": "assistant", "content": p}, "done": false}))
                            } else {
                                format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": p}}]}))
                            };
                            let _ = stream.write_all(line.as_bytes());
                            let _ = stream.flush();
                        }
                        let end = if ollama {
                            format!("{}\n", json!({"message": {"role": "assistant", "content": ""}, "done": true}))
                        } else {
                            "data: [DONE]\n\n".to_owned()
                        };
                        let _ = stream.write_all(end.as_bytes());
                        return;
                    }
                    let out = if ollama {
                        json!({"model": request["model"], "message": {"role": "assistant", "content": text}, "done": true})
                    } else {
                        json!({"id": "x", "object": "chat.completion", "model": request["model"],
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]})
                    }
                    .to_string();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                        out.len()
                    );
                });
            }
        });
        Self { url, requests }
    }

    /// Answers every request with `reply(body)` at once.
    pub fn replying(reply: impl Fn(&Value) -> String + Send + Sync + 'static) -> Self {
        Self::start(Arc::new(reply), Duration::ZERO, None)
    }

    /// The host for `LLM_BINDING=ollama` (the URL without `/v1`).
    pub fn ollama_host(&self) -> String {
        self.url.trim_end_matches("/v1").to_owned()
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("lock").clone()
    }

    /// How many requests were received.
    pub fn calls(&self) -> usize {
        self.requests.lock().expect("lock").len()
    }
}
