use clap::Parser;

fn main() -> color_eyre::Result<()> {
    let panic_log = clusterdeck::config::Paths::discover()
        .state_dir
        .map(|d| d.join("clusterdeck.log"));
    clusterdeck::terminal::install_hooks(panic_log)?;
    let cli = clusterdeck::cli::Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = rt.block_on(clusterdeck::cli::run(cli));
    // Quitting must not wait on a blocking task that may never end (a credential plugin
    // waiting for a sign-in): the terminal is already restored, whatever is left is dropped.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
