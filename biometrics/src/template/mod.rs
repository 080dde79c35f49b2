//! ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004 finger minutiae records.
