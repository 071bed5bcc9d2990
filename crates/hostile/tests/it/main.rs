//! Hostile peers against the real client and the real mock server over loopback (layer 2). One
//! module per hostile area; the shared helpers are in the crate's library.

mod client_garbage;
mod close;
mod delivery;
mod injection;
mod limits;
mod load;
mod malformed;
mod reset;
mod session_log;
mod slow;
mod sticky;
mod stripping;
