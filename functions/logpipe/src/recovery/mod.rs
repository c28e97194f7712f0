//! Recovery: records that did not reach the main index brought into it
//! after the cause is fixed.

pub mod redrive;
