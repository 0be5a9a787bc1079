//! The room's problem bank (placeholder: branch `bank` owns the real implementation, which
//! replaces this file at merge; the signatures are the contract's).

use tandem_shared::problem::{ProblemSummary, PublicProblem};

use crate::{Room, RoomError};

const UNAVAILABLE: &str = "problems are not available in this build";

impl Room {
    /// Problems the room's execution node offers.
    pub async fn list_problems(&self) -> Result<Vec<ProblemSummary>, RoomError> {
        Err(RoomError::Rejected(UNAVAILABLE.into()))
    }

    /// Interviewer only: make problem `id` the room's problem for everyone.
    pub async fn choose_problem(&self, id: &str) -> Result<PublicProblem, RoomError> {
        let _ = id;
        Err(RoomError::Rejected(UNAVAILABLE.into()))
    }
}
