//! Crash-test failpoints: with `ZIPCHAIN_WRITER_CRASH=<stage>` in its environment, the
//! writer kills itself with SIGKILL the first time it reaches that stage, as a power cut
//! would (no destructors, no flush).

use std::sync::OnceLock;

/// The environment variable naming the stage to die at.
pub const ENV: &str = "ZIPCHAIN_WRITER_CRASH";

/// A point in the write path where a crash test can kill the writer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `before-ack`: a group of writes is fsynced, no 202 has been sent for it.
    BeforeAck,
    /// `after-timestamp`: a block's JWT is received, nothing of the block is mirrored.
    AfterTimestamp,
    /// `after-sequence`: the sequencer's document is received, the attestation is neither
    /// mirrored nor replicated.
    AfterSequence,
    /// `after-batch-replication`: the batch is in all six stores, the block and its
    /// timestamp in none (both are mirrored).
    AfterBatchReplication,
    /// `before-attestation-replication`: the attestation is mirrored, not replicated.
    BeforeAttestationReplication,
    /// `before-retire`: the block is final, its transactions' log records not retired.
    BeforeRetire,
    /// `after-checkpoint-signed`: a checkpoint is signed and kept in
    /// `checkpoints/latest.note`, not yet pushed to any witness.
    AfterCheckpointSigned,
    /// `after-witness-cosigned`: a witness answered a push with its cosignature, which the
    /// writer has not kept yet.
    AfterWitnessCosigned,
}

impl Stage {
    /// Every stage, in write-path order.
    pub const ALL: [Self; 8] = [
        Self::BeforeAck,
        Self::AfterTimestamp,
        Self::AfterBatchReplication,
        Self::AfterSequence,
        Self::BeforeAttestationReplication,
        Self::BeforeRetire,
        Self::AfterCheckpointSigned,
        Self::AfterWitnessCosigned,
    ];

    /// The stage's name as `ZIPCHAIN_WRITER_CRASH` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::BeforeAck => "before-ack",
            Self::AfterTimestamp => "after-timestamp",
            Self::AfterSequence => "after-sequence",
            Self::AfterBatchReplication => "after-batch-replication",
            Self::BeforeAttestationReplication => "before-attestation-replication",
            Self::BeforeRetire => "before-retire",
            Self::AfterCheckpointSigned => "after-checkpoint-signed",
            Self::AfterWitnessCosigned => "after-witness-cosigned",
        }
    }
}

/// Kills the process with SIGKILL if `ZIPCHAIN_WRITER_CRASH` names `stage`; otherwise
/// does nothing. The variable is read once.
pub fn failpoint(stage: Stage) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var(ENV).ok());
    if armed.as_deref() == Some(stage.name()) {
        tracing::warn!(
            stage = stage.name(),
            "failpoint reached: killing the process"
        );
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        std::process::abort();
    }
}
