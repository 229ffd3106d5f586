//! Workbooks zwyun writes carry a custom document property, so that one
//! mailed back to us (a unit's forwarding rule, an inline forward of our
//! reply) is recognised as our own output and never taken as a submission.

use std::io::Read as _;

use rust_xlsxwriter::DocProperties;

/// The custom property's name; its value says which document it is.
pub const PROPERTY: &str = "zwyun-generated";

/// Properties marking a workbook as zwyun's `what` (e.g. `问题清单`).
pub fn properties(what: &str) -> DocProperties {
    DocProperties::new().set_custom_property(PROPERTY, what)
}

/// Whether `bytes` are an .xlsx that zwyun wrote (the custom property is
/// present); anything unreadable is not ours.
pub fn is_generated(bytes: &[u8]) -> bool {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    let Ok(file) = zip.by_name("docProps/custom.xml") else {
        return false;
    };
    let mut xml = String::new();
    // The properties part is a few hundred bytes; a bigger one is not ours.
    if file.take(1 << 20).read_to_string(&mut xml).is_err() {
        return false;
    }
    xml.contains(&format!("name=\"{PROPERTY}\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn marked_workbook_is_recognised_and_a_plain_one_is_not() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        wb.add_worksheet();
        let plain = wb.save_to_buffer().unwrap();
        assert!(!super::is_generated(&plain));
        wb.set_properties(&super::properties("问题清单"));
        let marked = wb.save_to_buffer().unwrap();
        assert!(super::is_generated(&marked));
        assert!(!super::is_generated(b"not a zip"));
    }
}
