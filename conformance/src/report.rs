//! Reports: `report.json`, `junit.xml`, `report.html`.
