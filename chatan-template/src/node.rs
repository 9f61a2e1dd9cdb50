//! The template tree.

use crate::Span;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The top-level nodes, in order; adjacent text is always merged into one node.
    pub nodes: Vec<Node>,
}

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text, with `{{` and `}}` already unescaped.
    Text(String),
    /// A `{column}` or `{column.field}` reference.
    Ref(Reference),
    /// A `{% if %}` block. Conditionals are not parsed yet (the parser reports a block
    /// as unsupported), so no template holds one today; the node gives them their place
    /// in the tree.
    If(Conditional),
}

/// A place where a template names another column: `{question}`, or a field of a struct
/// column, `{review.score}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The column, then any fields inside it (raw identifiers unprefixed).
    pub path: Vec<String>,
    /// The whole `{...}` range, braces included.
    pub span: Span,
}

impl Reference {
    /// The column named.
    pub fn column(&self) -> &str {
        &self.path[0]
    }

    /// The fields read inside the column (empty for a plain `{column}`).
    pub fn fields(&self) -> &[String] {
        &self.path[1..]
    }
}

/// `{% if a %} ... {% elif b %} ... {% else %} ... {% endif %}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditional {
    /// The `if` and `elif` branches, in order.
    pub branches: Vec<Branch>,
    /// The `else` body (empty without one).
    pub otherwise: Vec<Node>,
    /// From `{% if` to `endif %}`.
    pub span: Span,
}

/// One `if` or `elif` branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The condition's text.
    pub condition: String,
    /// Where the condition is.
    pub condition_span: Span,
    /// What the branch renders.
    pub body: Vec<Node>,
}

impl Template {
    /// Every reference, in order of appearance, inside conditionals too (a column may
    /// appear more than once).
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        let mut found = Vec::new();
        collect(&self.nodes, &mut found);
        found.into_iter()
    }
}

fn collect<'a>(nodes: &'a [Node], found: &mut Vec<&'a Reference>) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Ref(reference) => found.push(reference),
            Node::If(conditional) => {
                for branch in &conditional.branches {
                    collect(&branch.body, found);
                }
                collect(&conditional.otherwise, found);
            }
        }
    }
}
