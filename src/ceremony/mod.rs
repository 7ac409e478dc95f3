//! Ceremonies: plans, the preflight, the hash-chained transcript, and the flows that use
//! them — genesis, rotation, extension, recovery — each leaving a record a witness who was not
//! in the room can check with `custody ceremony verify`.

pub mod attest;
pub mod audit;
pub mod drill;
pub mod drill_log;
pub mod extend;
pub mod genesis;
pub mod plan;
pub mod preflight;
pub mod quorum;
pub mod recovery;
pub mod reissue;
pub mod rotate;
pub mod transcript;
