//! Writes the demo mailbox's files (resources/demo/*.mbox) from
//! `satchel_core::demo::generate`. Run it after changing the generator:
//! `cargo run -p satchel-core --example make-demo`, then commit the files.

use std::path::Path;

use satchel_core::demo::generate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../resources/demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (folder, mbox) in generate::generate()? {
        let path = dir.join(generate::file_name(folder));
        std::fs::write(&path, &mbox).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("{folder}: {} bytes in {}", mbox.len(), path.display());
    }
    println!("Rebuild (the files are built into satchel) and commit them.");
    Ok(())
}
