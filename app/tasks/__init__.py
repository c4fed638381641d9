"""Task kinds beyond plain pairwise: rubrics, rankings, segments, checklists, thumbs, listening logs."""
