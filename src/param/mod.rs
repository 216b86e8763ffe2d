//! Parameter files: ISF's `.param` syntax (a strict superset), the ordered value tree with source spans, and typed views of cell and network parameters.
