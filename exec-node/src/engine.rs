//! Finding and connecting to a container engine that speaks the Docker API (Podman or Docker).

use bollard::Docker;

/// Seconds bollard waits for one engine call before giving up.
const ENGINE_TIMEOUT_SECS: u64 = 120;

/// No engine could be reached.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no container engine answered (tried {tried}); start one, e.g. `podman system service --time=0 unix:///run/podman/podman.sock &` as root, `systemctl --user start podman.socket`, or `systemctl start docker`, or pass --engine URL"
    )]
    NotFound { tried: String },
    #[error("container engine at {url} does not answer: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// A connected engine and where it lives.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    pub url: String,
}

/// The sockets tried, in order, when no URL is given.
pub fn candidate_urls() -> Vec<String> {
    let mut urls = Vec::new();
    if let Ok(host) = std::env::var("DOCKER_HOST") {
        if !host.is_empty() {
            urls.push(host);
        }
    }
    if let Ok(dir) = std::env::var("XDG_RUNTIME_DIR") {
        urls.push(format!("unix://{dir}/podman/podman.sock"));
    }
    urls.push("unix:///run/podman/podman.sock".into());
    urls.push("unix:///var/run/docker.sock".into());
    urls.dedup();
    urls
}

fn connect_url(url: &str) -> Result<Docker, bollard::errors::Error> {
    let version = bollard::API_DEFAULT_VERSION;
    if url.starts_with("unix://") || url.starts_with('/') {
        Docker::connect_with_unix(url, ENGINE_TIMEOUT_SECS, version)
    } else {
        Docker::connect_with_http(url, ENGINE_TIMEOUT_SECS, version)
    }
}

impl Engine {
    /// Connects to `url`, or to the first candidate socket that answers a ping.
    pub async fn connect(url: Option<&str>) -> Result<Self, EngineError> {
        if let Some(url) = url {
            let docker = connect_url(url).map_err(|source| EngineError::Unreachable {
                url: url.into(),
                source,
            })?;
            docker.ping().await.map_err(|source| EngineError::Unreachable {
                url: url.into(),
                source,
            })?;
            return Ok(Self {
                docker,
                url: url.into(),
            });
        }
        let urls = candidate_urls();
        for url in &urls {
            let path = url.trim_start_matches("unix://");
            if url.starts_with("unix://") && !std::path::Path::new(path).exists() {
                continue;
            }
            if let Ok(docker) = connect_url(url) {
                if docker.ping().await.is_ok() {
                    tracing::info!(engine = %url, "connected to container engine");
                    return Ok(Self {
                        docker,
                        url: url.clone(),
                    });
                }
            }
        }
        Err(EngineError::NotFound { tried: urls.join(", ") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_names_every_socket_and_how_to_start_one() {
        let e = EngineError::NotFound {
            tried: candidate_urls().join(", "),
        };
        let msg = e.to_string();
        assert!(
            msg.contains("/run/podman/podman.sock") && msg.contains("/var/run/docker.sock"),
            "{msg}"
        );
        assert!(
            msg.contains("podman system service") && msg.contains("--engine"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[tokio::test]
    async fn an_engine_url_that_answers_nothing_is_unreachable() {
        let err = Engine::connect(Some("unix:///nonexistent/podman.sock"))
            .await
            .err()
            .unwrap();
        assert!(matches!(err, EngineError::Unreachable { .. }));
        assert!(err.to_string().contains("unix:///nonexistent/podman.sock"));
    }
}
