//! Where settings come from, in LightRAG's order, read once.
//!
//! LightRAG's server loads `.env` from its working directory at import
//! (`load_dotenv(override=False)`: variables already set win), and its
//! `PostgreSQLDB` falls back to `config.ini`'s `[postgres]` section for every
//! `POSTGRES_*` key the environment leaves unset. [`Sources`] reproduces that
//! order, plus one layer LightRAG lacks, command-line flags:
//!
//! 1. flags ([`Sources::with_flag`]), which override everything;
//! 2. the process environment;
//! 3. `.env` in the working directory (parsed by `dotenvy`, never written into
//!    the process environment);
//! 4. `config.ini`'s `[postgres]` section in the working directory (its keys are
//!    the short names: `host`, `port`, `server_options`, …);
//! 5. `DATABASE_URL`, from whichever layer holds it, which fills the connection
//!    settings none of the layers above set (a `--database-url` flag instead
//!    overrides them, like any flag).
//!
//! Every lookup says where its value came from ([`Origin`]), so `doctor` can
//! show the effective configuration with secrets masked ([`Sources::report`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use lightrag_pg_core::Error;
use serde::Serialize;

/// Where one effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// A command-line flag (its spelling, e.g. `--workspace`).
    Flag(String),
    /// The process environment.
    Environment,
    /// A `.env` file.
    DotEnv(PathBuf),
    /// `config.ini`'s `[postgres]` section (the file and the key).
    ConfigIni(PathBuf, String),
    /// Derived from `DATABASE_URL` (which itself came from the inner origin).
    DatabaseUrl(Box<Origin>),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Environment => f.write_str("environment"),
            Self::DotEnv(path) => write!(f, "{}", path.display()),
            Self::ConfigIni(path, key) => write!(f, "{} [postgres] {key}", path.display()),
            Self::DatabaseUrl(inner) => write!(f, "DATABASE_URL ({inner})"),
        }
    }
}

/// One layer: values by LightRAG's variable name.
#[derive(Debug, Clone, Default)]
struct Layer {
    values: BTreeMap<String, (String, Origin)>,
}

impl Layer {
    fn insert(&mut self, key: impl Into<String>, value: impl Into<String>, origin: Origin) {
        let value = value.into();
        // LightRAG treats an empty value as unset (`os.environ.get(k) or default`).
        if !value.trim().is_empty() {
            self.values.insert(key.into(), (value, origin));
        }
    }

    fn get(&self, key: &str) -> Option<&(String, Origin)> {
        self.values.get(key)
    }
}

/// The variable names `config.ini`'s `[postgres]` section spells differently
/// from `POSTGRES_` + lower case (LightRAG's `ClientManager.get_config`).
const INI_RENAMES: &[(&str, &str)] = &[("POSTGRES_SERVER_SETTINGS", "server_options")];

/// The `config.ini` key of a `POSTGRES_*` variable, or `None` for a variable
/// `config.ini` does not hold.
pub fn ini_key(variable: &str) -> Option<String> {
    if let Some((_, short)) = INI_RENAMES.iter().find(|(v, _)| *v == variable) {
        return Some((*short).to_owned());
    }
    variable.strip_prefix("POSTGRES_").map(str::to_ascii_lowercase)
}

/// The settings of one process, layered as LightRAG layers them (see the module
/// documentation). Cheap to clone; read once with [`Sources::discover`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    flags: Layer,
    environment: Layer,
    dotenv: Layer,
    ini: Layer,
    /// The files that were found and read, for `doctor`.
    files: Vec<PathBuf>,
}

impl Sources {
    /// The process environment plus `.env` and `config.ini` in the current
    /// working directory (each only if present).
    ///
    /// # Errors
    /// [`Error::Config`] naming a `.env` or `config.ini` that exists but cannot
    /// be read or parsed.
    pub fn discover() -> Result<Self, Error> {
        let cwd = std::env::current_dir().map_err(|e| Error::config("working directory", e.to_string()))?;
        Self::from_env_and_dir(&cwd)
    }

    /// The process environment plus `.env` and `config.ini` in `dir`.
    ///
    /// # Errors
    /// As [`Sources::discover`].
    pub fn from_env_and_dir(dir: &Path) -> Result<Self, Error> {
        let mut s = Self::from_pairs(std::env::vars());
        s.read_dir(dir)?;
        Ok(s)
    }

    /// Only the given variables (as if they were the environment), no files:
    /// for tests and for programs that configure themselves.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut s = Self::default();
        for (k, v) in pairs {
            s.environment.insert(k, v, Origin::Environment);
        }
        s
    }

    /// Adds `.env` and `config.ini` from `dir` below the environment.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file that cannot be read or parsed.
    pub fn read_dir(&mut self, dir: &Path) -> Result<(), Error> {
        let dotenv = dir.join(".env");
        if dotenv.is_file() {
            self.read_dotenv(&dotenv)?;
        }
        let ini = dir.join("config.ini");
        if ini.is_file() {
            self.read_config_ini(&ini)?;
        }
        Ok(())
    }

    /// Adds a `.env` file below the environment (values already set win).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and the line that cannot be parsed.
    pub fn read_dotenv(&mut self, path: &Path) -> Result<(), Error> {
        let bad = |e: &dyn fmt::Display| Error::config(path.display().to_string(), e.to_string());
        let iter = dotenvy::from_path_iter(path).map_err(|e| bad(&e))?;
        for item in iter {
            let (k, v) = item.map_err(|e| bad(&e))?;
            self.dotenv.insert(k, v, Origin::DotEnv(path.to_owned()));
        }
        self.files.push(path.to_owned());
        Ok(())
    }

    /// Adds `config.ini`'s `[postgres]` section below `.env`. Keys are matched
    /// without regard to case, as Python's `configparser` does.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file when it cannot be read or parsed.
    pub fn read_config_ini(&mut self, path: &Path) -> Result<(), Error> {
        let options = ini::ParseOption { enabled_quote: false, enabled_escape: false, ..Default::default() };
        let file = ini::Ini::load_from_file_opt(path, options)
            .map_err(|e| Error::config(path.display().to_string(), e.to_string()))?;
        if let Some(section) = file.section(Some("postgres")) {
            let by_key: BTreeMap<String, &str> = section.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
            for variable in crate::config::VARIABLES {
                let Some(key) = ini_key(variable) else { continue };
                if let Some(v) = by_key.get(&key) {
                    self.ini.insert(*variable, *v, Origin::ConfigIni(path.to_owned(), key));
                }
            }
        }
        self.files.push(path.to_owned());
        Ok(())
    }

    /// A command-line override of `variable` (shown by `doctor` as `flag`).
    pub fn with_flag(mut self, variable: &str, flag: &str, value: impl Into<String>) -> Self {
        self.flags.insert(variable, value, Origin::Flag(flag.to_owned()));
        self
    }

    /// The files read (`.env`, `config.ini`).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The effective value of `variable` and its origin, ignoring
    /// `DATABASE_URL` (see [`crate::PgConfig::from_sources`] for that).
    pub fn get(&self, variable: &str) -> Option<(String, Origin)> {
        [&self.flags, &self.environment, &self.dotenv, &self.ini].into_iter().find_map(|l| l.get(variable).cloned())
    }

    /// The effective value of `variable`.
    pub fn value(&self, variable: &str) -> Option<String> {
        self.get(variable).map(|(v, _)| v)
    }

    /// Whether `variable` was given as a flag.
    pub fn is_flag(&self, variable: &str) -> bool {
        self.flags.get(variable).is_some()
    }

    /// Every effective setting this project reads ([`crate::config::VARIABLES`]
    /// and [`crate::settings::VARIABLES`]), with its origin; secrets masked.
    pub fn report(&self) -> Vec<Setting> {
        let mut out = Vec::new();
        for variable in crate::config::VARIABLES.iter().chain(crate::settings::VARIABLES).chain(&["DATABASE_URL"]) {
            if let Some((value, origin)) = self.get(variable) {
                out.push(Setting { variable: (*variable).to_owned(), value: mask(variable, &value), origin });
            }
        }
        out
    }
}

/// One effective setting, as `doctor` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Setting {
    /// LightRAG's variable name.
    pub variable: String,
    /// The value, with secrets masked.
    pub value: String,
    /// Where it came from.
    pub origin: Origin,
}

/// `value` with any password replaced by `********`.
fn mask(variable: &str, value: &str) -> String {
    match variable {
        "POSTGRES_PASSWORD" => "********".to_owned(),
        "DATABASE_URL" => match url::Url::parse(value) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("********"));
                u.to_string()
            }
            Ok(_) => value.to_owned(),
            Err(_) => "<unparsable URL>".to_owned(),
        },
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lightrag-pg-sources-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, body) in files {
            std::fs::write(dir.join(name), body).unwrap();
        }
        dir
    }

    #[test]
    fn the_environment_wins_over_dotenv_which_wins_over_config_ini() {
        let dir = dir_with(&[
            (".env", "POSTGRES_HOST=from-dotenv\nPOSTGRES_PORT=6000\n"),
            ("config.ini", "[postgres]\nhost = from-ini\nport = 7000\nuser = ini-user\n"),
        ]);
        let mut s = Sources::from_pairs([("POSTGRES_HOST", "from-env")]);
        s.read_dir(&dir).unwrap();
        assert_eq!(s.get("POSTGRES_HOST"), Some(("from-env".into(), Origin::Environment)));
        assert_eq!(s.get("POSTGRES_PORT"), Some(("6000".into(), Origin::DotEnv(dir.join(".env")))));
        assert_eq!(
            s.get("POSTGRES_USER"),
            Some(("ini-user".into(), Origin::ConfigIni(dir.join("config.ini"), "user".into())))
        );
    }

    #[test]
    fn flags_override_every_file_and_the_environment() {
        let dir = dir_with(&[(".env", "POSTGRES_WORKSPACE=dotenv-ws\n")]);
        let mut s = Sources::from_pairs([("POSTGRES_WORKSPACE", "env-ws")]);
        s.read_dir(&dir).unwrap();
        let s = s.with_flag("POSTGRES_WORKSPACE", "--workspace", "flag-ws");
        assert_eq!(s.get("POSTGRES_WORKSPACE"), Some(("flag-ws".into(), Origin::Flag("--workspace".into()))));
    }

    #[test]
    fn config_ini_keys_are_lightrags_short_names_in_any_case() {
        let dir = dir_with(&[(
            "config.ini",
            "[neo4j]\nhost = elsewhere\n\n[postgres]\nHOST = db.internal\nserver_options = jit=off\n",
        )]);
        let mut s = Sources::default();
        s.read_dir(&dir).unwrap();
        assert_eq!(s.value("POSTGRES_HOST").as_deref(), Some("db.internal"));
        assert_eq!(s.value("POSTGRES_SERVER_SETTINGS").as_deref(), Some("jit=off"));
        assert_eq!(ini_key("POSTGRES_SERVER_SETTINGS").as_deref(), Some("server_options"));
        assert_eq!(ini_key("WORKSPACE"), None);
    }

    #[test]
    fn dotenv_carries_lightrag_selection_variables_too() {
        let dir = dir_with(&[(".env", "# LightRAG server .env\nEMBEDDING_MODEL=bge-m3\nEMBEDDING_DIM='1024'\n")]);
        let mut s = Sources::default();
        s.read_dir(&dir).unwrap();
        assert_eq!(s.value("EMBEDDING_MODEL").as_deref(), Some("bge-m3"));
        assert_eq!(s.value("EMBEDDING_DIM").as_deref(), Some("1024"));
    }

    #[test]
    fn empty_values_count_as_unset_and_fall_through() {
        let dir = dir_with(&[(".env", "POSTGRES_USER=dotenv-user\n")]);
        let mut s = Sources::from_pairs([("POSTGRES_USER", "")]);
        s.read_dir(&dir).unwrap();
        assert_eq!(s.value("POSTGRES_USER").as_deref(), Some("dotenv-user"));
    }

    #[test]
    fn a_malformed_dotenv_is_an_error_naming_the_file() {
        let dir = dir_with(&[(".env", "POSTGRES_HOST='unterminated\n")]);
        let e = Sources::default().read_dir(&dir).map(|_| ()).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{e:?}");
        assert!(e.to_string().contains(".env"), "{e}");
    }

    #[test]
    fn the_report_masks_passwords_and_names_origins() {
        let s = Sources::from_pairs([
            ("POSTGRES_PASSWORD", "s3cret"),
            ("DATABASE_URL", "postgres://u:s3cret@h:5432/db"),
            ("POSTGRES_HOST", "h"),
        ]);
        let report = s.report();
        assert!(report.iter().all(|r| !r.value.contains("s3cret")), "{report:?}");
        let host = report.iter().find(|r| r.variable == "POSTGRES_HOST").unwrap();
        assert_eq!((host.value.as_str(), &host.origin), ("h", &Origin::Environment));
        assert!(report.iter().any(|r| r.variable == "DATABASE_URL" && r.value.contains("********")));
    }
}
