#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod answer;
pub mod embed;
pub mod error;
mod fetch;
mod http;
pub mod keywords;
mod lines;
pub mod llm;
pub mod param;
pub mod prompts;
pub mod pyfmt;
pub mod rerank;
mod retrieve;
mod select;
pub mod token_cache;
pub mod tokenizer;
pub mod validate;

pub use answer::{Answer, AnswerOptions, AnswerText};
pub use embed::{EmbeddingBinding, HttpEmbedder};
pub use error::QueryError;
pub use keywords::KeywordCacheIdentity;
pub use llm::{ChatModel, ChatReply, ChatRequest, ChatStream, HttpChatModel, LlmBinding};
pub use param::{ChunkPickMethod, Mode, QueryParam, RetrievalSettings};
pub use rerank::{HttpReranker, RerankBinding, RerankResult, Reranker};
pub use retrieve::{Retrieval, Retriever};
pub use token_cache::CachedTokenizer;
pub use tokenizer::{Tiktoken, Tokenizer};
