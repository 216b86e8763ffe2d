fn main() {
    std::process::exit(isf::cli::main());
}
