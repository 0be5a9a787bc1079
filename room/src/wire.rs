//! Length-prefixed frames on QUIC streams (the format is defined in `tandem_shared::protocol`).

use iroh::endpoint::{RecvStream, SendStream};
use tandem_shared::exec_wire::{self, ExecFrame, ExecWireError};
use tandem_shared::protocol::{Frame, ProtocolError, LEN_PREFIX};

use crate::RoomError;

/// What reading one frame produced.
#[derive(Debug)]
pub enum Read {
    Frame(Frame),
    /// The frame was read completely but refused; the stream is still usable.
    Bad(ProtocolError),
}

/// Reads the next frame; `Ok(None)` at a clean end of stream. An oversized length prefix is an
/// error (the body is never read, so the stream cannot continue).
pub async fn read_frame(recv: &mut RecvStream) -> Result<Option<Read>, RoomError> {
    let mut prefix = [0u8; LEN_PREFIX];
    match recv.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(RoomError::Net(e.to_string())),
    }
    let len = match Frame::check_len(prefix) {
        Ok(len) => len,
        Err(e @ ProtocolError::TooLarge { .. }) => return Err(RoomError::Protocol(e)),
        Err(e) => return Ok(Some(Read::Bad(e))),
    };
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| RoomError::Net(e.to_string()))?;
    Ok(Some(match Frame::decode(&body) {
        Ok(f) => Read::Frame(f),
        Err(e) => Read::Bad(e),
    }))
}

/// Writes one already-encoded frame.
pub async fn write_raw(send: &mut SendStream, bytes: &[u8]) -> Result<(), RoomError> {
    send.write_all(bytes).await.map_err(|e| RoomError::Net(e.to_string()))
}

/// Encodes and writes one frame.
pub async fn write_frame(send: &mut SendStream, frame: &Frame) -> Result<(), RoomError> {
    write_raw(send, &frame.encode()?).await
}

/// Reads the next `tandem/exec/1` frame; `Ok(None)` at a clean end of stream. A frame that was
/// read completely but is malformed is `Ok(Some(Err(_)))` (the stream stays usable); an
/// oversized length prefix is an error (the body is never read).
pub async fn read_exec_frame(recv: &mut RecvStream) -> Result<Option<Result<ExecFrame, ExecWireError>>, RoomError> {
    let mut prefix = [0u8; exec_wire::LEN_PREFIX];
    match recv.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(RoomError::Net(e.to_string())),
    }
    let len = match ExecFrame::check_len(prefix) {
        Ok(len) => len,
        Err(e @ ExecWireError::TooLarge { .. }) => return Err(RoomError::Net(e.to_string())),
        Err(e) => return Ok(Some(Err(e))),
    };
    let mut body = vec![0u8; len];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| RoomError::Net(e.to_string()))?;
    Ok(Some(ExecFrame::decode(&body)))
}

/// Encodes and writes one `tandem/exec/1` frame.
pub async fn write_exec_frame(send: &mut SendStream, frame: &ExecFrame) -> Result<(), RoomError> {
    let bytes = frame.encode().map_err(|e| RoomError::Net(e.to_string()))?;
    write_raw(send, &bytes).await
}
