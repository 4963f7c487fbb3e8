use clap::Parser;

fn main() -> color_eyre::Result<()> {
    clusterdeck::terminal::install_hooks()?;
    let cli = clusterdeck::cli::Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(clusterdeck::cli::run(cli))
}
