import Crop
import Encode
import Orient
import Pad
public import RenditionCore
import Resize
import Trim

/// The stages this build of Rendition ships, registered explicitly. A new stage module is one line here.
public enum Catalog {
    public static let registry = StageRegistry([
        Orient.self,
        Crop.self,
        Resize.self,
        Pad.self,
        Trim.self,
        Encode.self,
    ])
}
