//! Fix pull requests: from a labelled GitHub issue to an LLM diff, checked
//! by the scope guard, applied in a fresh git worktree, tested, pushed and
//! opened as a pull request.
