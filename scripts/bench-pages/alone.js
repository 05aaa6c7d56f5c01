// The same host app with no consent SDK: the first-paint baseline.
import { paintHost } from "./host.js";

paintHost();
