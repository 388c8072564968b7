import Crop
import Encode
import Orient
public import RenditionCore
import Resize
import Watermark

/// The stages this build of Rendition ships, registered explicitly. A new stage module is one line here.
public enum Catalog {
    public static let registry = StageRegistry([
        Orient.self,
        Crop.self,
        Resize.self,
        Watermark.self,
        Encode.self,
    ])
}
