//! [`ServeConfig`]: the LightRAG server settings `lightrag-pg serve` honours,
//! read once from pg-pool's [`Sources`] (flags, environment, `.env`).

use std::time::Duration;

use lightrag_pg_pool::Sources;

use crate::error::ServeError;

/// LightRAG server's default port.
pub const DEFAULT_PORT: u16 = 9621;
/// LightRAG server's default `MAX_REQUEST_BODY_BYTES` (1 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Requests handled at once before the server answers 503.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// The time one request may take before the server answers 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// LightRAG's `DEFAULT_MAX_GRAPH_NODES`.
pub const DEFAULT_MAX_GRAPH_NODES: usize = 1000;

/// Every variable this crate reads (besides retrieval's).
pub const VARIABLES: &[&str] = &[
    "HOST",
    "PORT",
    "LIGHTRAG_API_KEY",
    "CORS_ORIGINS",
    "WHITELIST_PATHS",
    "MAX_REQUEST_BODY_BYTES",
    "MAX_GRAPH_NODES",
    "AUTH_ACCOUNTS",
    "LIGHTRAG_PG_SERVE_MAX_IN_FLIGHT",
    "LIGHTRAG_PG_SERVE_TIMEOUT",
];

/// The server's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServeConfig {
    /// `HOST` (`0.0.0.0`).
    pub host: String,
    /// `PORT` (9621).
    pub port: u16,
    /// `LIGHTRAG_API_KEY`: when set, every route but the whitelisted ones
    /// needs it in `X-API-Key`.
    pub api_key: Option<String>,
    /// `CORS_ORIGINS` (`*`): `None` allows any origin, an empty list none.
    pub cors_origins: Option<Vec<String>>,
    /// `WHITELIST_PATHS` (`/health,/api/*`): paths served without the key;
    /// `(path, is_prefix)`.
    pub whitelist: Vec<(String, bool)>,
    /// `MAX_REQUEST_BODY_BYTES` (1 MiB; 0 turns the limit off).
    pub max_body_bytes: usize,
    /// `MAX_GRAPH_NODES` (1000): `/graphs` never returns more nodes.
    pub max_graph_nodes: usize,
    /// `LIGHTRAG_PG_SERVE_MAX_IN_FLIGHT` (256): requests handled at once;
    /// one more is answered 503 at once, never queued.
    pub max_in_flight: usize,
    /// `LIGHTRAG_PG_SERVE_TIMEOUT` (60 s): a request still running after it
    /// is answered 504.
    pub request_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: DEFAULT_PORT,
            api_key: None,
            cors_origins: None,
            whitelist: parse_whitelist("/health,/api/*"),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_graph_nodes: DEFAULT_MAX_GRAPH_NODES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

fn parse_whitelist(text: &str) -> Vec<(String, bool)> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_suffix("/*") {
            Some(prefix) => (prefix.to_owned(), true),
            None => (p.to_owned(), false),
        })
        .collect()
}

fn number<T: std::str::FromStr>(sources: &Sources, key: &str) -> Result<Option<T>, ServeError> {
    match sources.value(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ServeError::Config { key: key.into(), message: format!("invalid number '{v}'") }),
    }
}

impl ServeConfig {
    /// Reads LightRAG server's variables (see [`VARIABLES`]).
    ///
    /// # Errors
    /// [`ServeError::Config`] naming a malformed variable, or `AUTH_ACCOUNTS`
    /// (LightRAG's login accounts: this server cannot check their tokens, and
    /// refuses to start rather than serve without them).
    pub fn from_sources(sources: &Sources) -> Result<Self, ServeError> {
        let d = Self::default();
        if sources.value("AUTH_ACCOUNTS").is_some_and(|v| !v.trim().is_empty()) {
            return Err(ServeError::Config {
                key: "AUTH_ACCOUNTS".into(),
                message: "login accounts (JWT) are not supported by lightrag-pg serve; protect it with \
                          LIGHTRAG_API_KEY, or keep these routes on the LightRAG server"
                    .into(),
            });
        }
        let cors_origins = match sources.value("CORS_ORIGINS") {
            None => None,
            Some(v) if v.trim() == "*" => None,
            Some(v) => Some(v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect()),
        };
        let timeout: Option<f64> = number(sources, "LIGHTRAG_PG_SERVE_TIMEOUT")?;
        let request_timeout = match timeout {
            None => d.request_timeout,
            Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
            Some(s) => {
                return Err(ServeError::Config {
                    key: "LIGHTRAG_PG_SERVE_TIMEOUT".into(),
                    message: format!("{s} is not a positive number of seconds"),
                });
            }
        };
        let max_in_flight = number(sources, "LIGHTRAG_PG_SERVE_MAX_IN_FLIGHT")?.unwrap_or(d.max_in_flight);
        if max_in_flight == 0 {
            return Err(ServeError::Config {
                key: "LIGHTRAG_PG_SERVE_MAX_IN_FLIGHT".into(),
                message: "must be at least 1".into(),
            });
        }
        Ok(Self {
            host: sources.value("HOST").map(|h| h.trim().to_owned()).unwrap_or(d.host),
            port: number(sources, "PORT")?.unwrap_or(d.port),
            api_key: sources.value("LIGHTRAG_API_KEY").filter(|k| !k.is_empty()),
            cors_origins,
            whitelist: sources.value("WHITELIST_PATHS").map_or(d.whitelist, |w| parse_whitelist(&w)),
            max_body_bytes: number(sources, "MAX_REQUEST_BODY_BYTES")?.unwrap_or(d.max_body_bytes),
            max_graph_nodes: number(sources, "MAX_GRAPH_NODES")?.unwrap_or(d.max_graph_nodes),
            max_in_flight,
            request_timeout,
        })
    }

    /// Whether `WHITELIST_PATHS` exempts `path` from the API key.
    pub fn is_whitelisted(&self, path: &str) -> bool {
        self.whitelist.iter().any(|(p, prefix)| if *prefix { path.starts_with(p.as_str()) } else { path == p })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lightrag_servers() {
        let c = ServeConfig::from_sources(&Sources::default()).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.max_body_bytes), ("0.0.0.0", 9621, 1024 * 1024));
        assert!(c.is_whitelisted("/health") && c.is_whitelisted("/api/tags") && !c.is_whitelisted("/query"));
        assert_eq!(c.cors_origins, None);
    }

    #[test]
    fn the_variables_are_lightrag_servers() {
        let c = ServeConfig::from_sources(&Sources::from_pairs([
            ("HOST", "127.0.0.1"),
            ("PORT", "9700"),
            ("LIGHTRAG_API_KEY", "k"),
            ("CORS_ORIGINS", "https://a.example, https://b.example,"),
            ("WHITELIST_PATHS", "/health"),
        ]))
        .unwrap();
        assert_eq!((c.host.as_str(), c.port, c.api_key.as_deref()), ("127.0.0.1", 9700, Some("k")));
        assert_eq!(c.cors_origins, Some(vec!["https://a.example".to_owned(), "https://b.example".to_owned()]));
        assert!(!c.is_whitelisted("/api/tags"));
    }

    #[test]
    fn a_bad_port_names_its_variable() {
        let e = ServeConfig::from_sources(&Sources::from_pairs([("PORT", "ninety")])).unwrap_err();
        assert!(e.to_string().starts_with("PORT"), "{e}");
    }

    #[test]
    fn login_accounts_are_refused_at_start() {
        let e = ServeConfig::from_sources(&Sources::from_pairs([("AUTH_ACCOUNTS", "admin:pw")])).unwrap_err();
        assert!(e.to_string().contains("LIGHTRAG_API_KEY"), "{e}");
    }
}
