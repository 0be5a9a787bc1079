//! The problem bank from the room: the room's execution node offers problems
//! (`tandem_shared::exec_wire` revision 2), and an interviewer chooses the room's problem.
//!
//! Choosing writes the public part only — statement, examples, constraints, starter code — into
//! the room's shared document: the markdown into the root text [`PROBLEM_TEXT`], the id and the
//! [`PublicProblem`] JSON into the [`META_MAP`] map. Hidden tests stay on the node; peers
//! submit against them by naming the problem in a run request.

use std::sync::atomic::{AtomicU64, Ordering};

use tandem_shared::exec_wire::{ClientMsg, ServerMsg};
use tandem_shared::problem::{ProblemSummary, PublicProblem, META_MAP, META_PROBLEM, META_PROBLEM_JSON, PROBLEM_TEXT};
use yrs::{GetString, Map, ReadTxn, Text, Transact};

use crate::node::Room;
use crate::policy::now_ms;
use crate::RoomError;

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("problem-{}-{}", now_ms(), NEXT.fetch_add(1, Ordering::Relaxed))
}

fn unexpected(m: ServerMsg) -> RoomError {
    match m {
        ServerMsg::RequestFailed { message, .. } => RoomError::Rejected(message),
        other => RoomError::Net(format!("unexpected answer from the execution node: {other:?}")),
    }
}

impl Room {
    /// Problems the room's execution node offers.
    pub async fn list_problems(&self) -> Result<Vec<ProblemSummary>, RoomError> {
        let id = request_id();
        match self
            .exec_request(&id, ClientMsg::ListProblems { request_id: id.clone() })
            .await?
        {
            ServerMsg::Problems { problems, .. } => Ok(problems),
            other => Err(unexpected(other)),
        }
    }

    /// The public part of problem `id` from the room's execution node (any member may read it).
    pub async fn fetch_problem(&self, id: &str) -> Result<PublicProblem, RoomError> {
        let rid = request_id();
        match self
            .exec_request(
                &rid,
                ClientMsg::GetProblem {
                    request_id: rid.clone(),
                    id: id.to_string(),
                },
            )
            .await?
        {
            ServerMsg::Problem { problem, .. } => Ok(*problem),
            other => Err(unexpected(other)),
        }
    }

    /// Interviewer only: fetch the public part of problem `id` from the room's execution node and
    /// make it the room's problem for everyone: the statement (statement + examples + constraints
    /// as markdown) goes into the Yjs root text `problem` (PROBLEM_TEXT), the Yjs `meta` map gets
    /// `problem` = id and `problem_json` = the PublicProblem as a JSON string. Returns it.
    pub async fn choose_problem(&self, id: &str) -> Result<PublicProblem, RoomError> {
        self.ensure_interviewer()?;
        let problem = self.fetch_problem(id).await?;
        // Checked again: the role may have changed while the node answered.
        self.ensure_interviewer()?;
        let markdown = problem.to_markdown();
        let json = serde_json::to_string(&problem).map_err(|e| RoomError::Rejected(e.to_string()))?;
        let pid = problem.summary.id.clone();
        self.change_doc(|doc| {
            let text = doc.get_or_insert_text(PROBLEM_TEXT);
            let meta = doc.get_or_insert_map(META_MAP);
            let mut txn = doc.transact_mut();
            let len = text.len(&txn);
            if len > 0 {
                text.remove_range(&mut txn, 0, len);
            }
            text.insert(&mut txn, 0, &markdown);
            meta.insert(&mut txn, META_PROBLEM, pid.clone());
            meta.insert(&mut txn, META_PROBLEM_JSON, json);
            txn.encode_update_v1()
        })?;
        // The signed choice the execution node checks a Submit against.
        self.set_exec_settings_problem(&pid)?;
        Ok(problem)
    }

    /// The room's problem statement (markdown) as this peer's document has it.
    pub fn problem_statement(&self) -> String {
        self.with_core(|c| {
            let txn = c.code().doc().transact();
            txn.get_text(PROBLEM_TEXT)
                .map(|t| t.get_string(&txn))
                .unwrap_or_default()
        })
    }

    /// The room's problem as chosen (from the `meta` map), if any.
    pub fn current_problem(&self) -> Option<PublicProblem> {
        self.with_core(|c| {
            let txn = c.code().doc().transact();
            let meta = txn.get_map(META_MAP)?;
            let json = meta.get(&txn, META_PROBLEM_JSON)?.to_string(&txn);
            serde_json::from_str(&json).ok()
        })
    }

    fn ensure_interviewer(&self) -> Result<(), RoomError> {
        let ok = self.with_core(|c| c.policy().member(c.me()).is_some_and(|m| m.is_admin() && !m.revoked));
        if ok {
            Ok(())
        } else {
            Err(RoomError::Forbidden(
                "only an interviewer can choose the room's problem".into(),
            ))
        }
    }
}
