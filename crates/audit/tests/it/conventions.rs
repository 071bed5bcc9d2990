//! The command-line conventions of `streamsocket-audit`: `--version`, shell completions and man
//! pages.

/// `--version`, `completions bash|zsh|fish` and `man` (the tool's page and a subcommand's).
#[test]
fn version_completions_and_man_pages_are_printed() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamsocket-audit"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run(&["--version"]),
        format!("streamsocket-audit {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in [
        ("bash", "complete -F _streamsocket__audit"),
        ("zsh", "#compdef streamsocket-audit"),
        ("fish", "complete -c streamsocket-audit"),
    ] {
        let script = run(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("client") && script.contains("completions"),
            "{shell}"
        );
    }
    let page = run(&["man"]);
    assert!(page.contains(".TH streamsocket-audit 1"), "{page}");
    assert!(page.contains("streamsocket\\-audit\\-client(1)"), "{page}");
    let sub = run(&["man", "client"]);
    assert!(sub.contains(".TH streamsocket-audit-client 1"), "{sub}");
    assert!(sub.contains("\\-\\-case\\-timeout"), "{sub}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamsocket-audit"))
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
