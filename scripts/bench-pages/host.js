// The host app's own first render: the element the benchmark watches.
export function paintHost() {
  const host = document.getElementById("host");
  const heading = document.createElement("h1");
  heading.textContent = "すこやか手帳";
  // What the benchmark watches: when this element was painted.
  heading.setAttribute("elementtiming", "host");
  const text = document.createElement("p");
  text.textContent = "お薬の記録を、いつでも見られます。";
  host.append(heading, text);
}
