// A place on the page to drop files on: highlighted ('over') while something is dragged over it.

/** Makes `element` a drop target; `onDrop` gets the drop's DataTransfer, readable only during the event. */
export function dropZone(element, onDrop) {
  element.addEventListener('dragover', (e) => {
    e.preventDefault();
    element.classList.add('over');
  });
  element.addEventListener('dragleave', () => element.classList.remove('over'));
  element.addEventListener('drop', (e) => {
    e.preventDefault();
    element.classList.remove('over');
    onDrop(e.dataTransfer);
  });
}
