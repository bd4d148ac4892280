import { render } from "preact";

function App() {
  return <main>Postroom</main>;
}

render(<App />, document.getElementById("app")!);
