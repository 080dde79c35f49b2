//! Frames over a link with deadlines: the only place the driver touches I/O, `khil-link`'s framed read over the
//! ZFM frame format.

use crate::codec::ZfmFormat;

pub(crate) type Wire<L> = khil_link::FramedLink<L, ZfmFormat>;
