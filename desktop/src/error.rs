//! The one error type every command returns. It serialises as its message: the UI shows it.

#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("{0}")]
    Room(#[from] tandem_room::RoomError),
    #[error("no open room session {0}")]
    NoSession(u32),
    #[error("the room peer is not running: {0}")]
    NodeUnavailable(String),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

impl IpcError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        IpcError::Invalid(msg.into())
    }
}

impl serde::Serialize for IpcError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
