"""The abdomen for plain radiographs (issue 19): body wall and fat planes, solid organs, spine,
pelvis and lower ribs, and the bowel as gas- and fluid-filled tubes (supine and erect films)."""
