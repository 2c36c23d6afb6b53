//! Event selectors and ROUTES JSON: whatever compiles never panics on any record. The input is
//! the configuration, a NUL byte, then one record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch::route::Routes;
use trailwatch::selector::Selectors;
use trailwatch::trail::RecordFields;

fuzz_target!(|data: &[u8]| {
    let (config, record) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"{}"[..]),
    };
    let (Ok(config), Ok(record)) = (std::str::from_utf8(config), std::str::from_utf8(record))
    else {
        return;
    };
    let Ok(fields) = RecordFields::parse(record) else {
        return;
    };
    let _ = fields.event_time_millis();
    if let Ok(selectors) = Selectors::from_json(config) {
        let _ = selectors.selects(&fields);
    }
    if let Ok(routes) = Routes::from_json(config)
        && let Some(route) = routes.route_for(&fields)
    {
        let _ = routes.get(route);
    }
});
